#!/usr/bin/env bash
# Regenerates template/Cargo.lock after a dependency changed. One lock file serves every
# variant: packages that only some values of `cache`, `database` and `auth` use are wrapped in Liquid
# `if` blocks, so each generated project gets exactly the lock cargo would write for it, and
# builds with `--locked`. Steps: resolve the full (default) variant, let cargo prune the lock
# of each other combination (same versions, fewer packages), and merge them all.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/ci/install-cargo-generate.sh" >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

generate() { # <name> <defines...>
    local name=$1
    shift
    (cd "$scratch" && cargo generate --path "$repo" --name "$name" --silent --vcs none --no-fmt "$@" >/dev/null)
}

# The combinations whose dependency graphs differ: cache (redis|memory) x database x auth.
combos=()
for cache in redis memory; do
    for database in postgres+sqlite postgres; do
        for auth in jwt none; do
            combos+=("$cache $database $auth")
        done
    done
done
defines() { # <cache> <database> <auth>
    local kubernetes=true
    [[ $1 == memory ]] && kubernetes=false
    echo "-d cache=$1 -d database=$2 -d auth=$3 -d kubernetes=$kubernetes"
}
name_of() { echo "lock-$1-${2//+/-}-$3"; }

first=$(name_of redis postgres+sqlite jwt)
# shellcheck disable=SC2046 # the defines are deliberately split into words
generate "$first" $(defines redis postgres+sqlite jwt)
(cd "$scratch/$first" && cargo metadata --format-version 1 >/dev/null)
locks=()
for combo in "${combos[@]}"; do
    read -r cache database auth <<<"$combo"
    name=$(name_of "$cache" "$database" "$auth")
    if [[ $name != "$first" ]]; then
        # shellcheck disable=SC2046
        generate "$name" $(defines "$cache" "$database" "$auth")
        cp "$scratch/$first/Cargo.lock" "$scratch/$name/Cargo.lock"
        (cd "$scratch/$name" && cargo metadata --format-version 1 >/dev/null)
    fi
    locks+=("$cache" "$database" "$auth" "$scratch/$name/Cargo.lock")
done

python3 - "$repo/template/Cargo.lock" "${locks[@]}" <<'PY'
import sys

def blocks(path):
    text = open(path, encoding="utf-8").read()
    head, _, rest = text.partition("\n[[package]]\n")
    parts = ["[[package]]\n" + part for part in rest.split("\n[[package]]\n")]
    keyed = {}
    for part in parts:
        fields = dict(line.split(" = ", 1) for line in part.splitlines()[1:3])
        keyed[(fields["name"], fields["version"])] = part.rstrip("\n") + "\n"
    return head, keyed

out_path, args = sys.argv[1], sys.argv[2:]
variants = {}
for i in range(0, len(args), 4):
    variants[(args[i], args[i + 1], args[i + 2])] = blocks(args[i + 3])
(full_head, full), *_ = variants.values()
for combo, (head, packages) in variants.items():
    assert head == full_head, f"the lock headers differ for {combo}"
    assert set(packages) <= set(full), f"only in {combo}: {set(packages) - set(full)}"

def choose(option, values, branch):
    """Liquid choosing between the texts branch(value) for each value of option."""
    texts = [branch(value) for value in values]
    if all(text == texts[0] for text in texts):
        return texts[0]
    out = f'{{% if {option} == "{values[0]}" %}}{texts[0]}'
    for value, text in zip(values[1:-1], texts[1:-1]):
        out += f'{{% elsif {option} == "{value}" %}}{text}'
    return out + f"{{% else %}}{texts[-1]}{{% endif %}}"

caches, databases, auths = ["redis", "memory"], ["postgres+sqlite", "postgres"], ["jwt", "none"]
out, conditional = [full_head], 0
for key in full:
    def text(cache, database, auth):
        block = variants[(cache, database, auth)][1].get(key)
        return "" if block is None else "\n" + block
    piece = choose("cache", caches, lambda cache: choose(
        "database", databases, lambda database: choose(
            "auth", auths, lambda auth: text(cache, database, auth))))
    conditional += "{%" in piece
    out.append(piece)
open(out_path, "w", encoding="utf-8").write("".join(out))
print(f"template/Cargo.lock: {len(full)} packages, {conditional} conditional on cache, database or auth")
PY

# The merged file must render back to exactly what cargo wrote for each combination.
for combo in "${combos[@]}"; do
    read -r cache database auth <<<"$combo"
    name=$(name_of "$cache" "$database" "$auth")
    # shellcheck disable=SC2046
    generate "check-$name" $(defines "$cache" "$database" "$auth")
    cmp "$scratch/$name/Cargo.lock" "$scratch/check-$name/Cargo.lock"
done
echo "every combination of cache, database and auth renders the lock cargo wrote for it"
