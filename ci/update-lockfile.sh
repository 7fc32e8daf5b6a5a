#!/usr/bin/env bash
# Regenerates template/Cargo.lock after a dependency changed. One lock file serves every
# variant: packages that only some values of `cache`, `database`, `auth` and `graphql` use are wrapped in Liquid
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

# The combinations whose dependency graphs differ: cache (redis|memory) x database x auth x
# graphql, less graphql=true with auth=none (the pre hook refuses it).
combos=()
for cache in redis memory; do
    for database in postgres+sqlite postgres; do
        for auth in jwt none; do
            for graphql in true false; do
                [[ $auth == none && $graphql == true ]] && continue
                combos+=("$cache $database $auth $graphql")
            done
        done
    done
done
defines() { # <cache> <database> <auth> <graphql>
    local kubernetes=true
    [[ $1 == memory ]] && kubernetes=false
    echo "-d cache=$1 -d database=$2 -d auth=$3 -d graphql=$4 -d kubernetes=$kubernetes"
}
name_of() { echo "lock-$1-${2//+/-}-$3-$4"; }

# The full variant: every optional package is in it.
first=$(name_of redis postgres+sqlite jwt true)
# shellcheck disable=SC2046 # the defines are deliberately split into words
generate "$first" $(defines redis postgres+sqlite jwt true)
(cd "$scratch/$first" && cargo metadata --format-version 1 >/dev/null)
locks=()
for combo in "${combos[@]}"; do
    read -r cache database auth graphql <<<"$combo"
    name=$(name_of "$cache" "$database" "$auth" "$graphql")
    if [[ $name != "$first" ]]; then
        # shellcheck disable=SC2046
        generate "$name" $(defines "$cache" "$database" "$auth" "$graphql")
        cp "$scratch/$first/Cargo.lock" "$scratch/$name/Cargo.lock"
        (cd "$scratch/$name" && cargo metadata --format-version 1 >/dev/null)
    fi
    locks+=("$cache" "$database" "$auth" "$graphql" "$scratch/$name/Cargo.lock")
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
for i in range(0, len(args), 5):
    variants[tuple(args[i : i + 4])] = blocks(args[i + 4])
(full_head, full), *_ = variants.values()
for combo, (head, packages) in variants.items():
    assert head == full_head, f"the lock headers differ for {combo}"
    assert set(packages) <= set(full), f"only in {combo}: {set(packages) - set(full)}"

def literal(value):
    """The Liquid spelling of an option's value: booleans bare, choices quoted."""
    return value if value in ("true", "false") else f'"{value}"'

def choose(option, values, branch):
    """Liquid choosing between the texts branch(value) for each value of option that can be
    generated (branch gives None for a refused combination)."""
    pairs = [(value, branch(value)) for value in values]
    pairs = [(value, text) for value, text in pairs if text is not None]
    if not pairs:
        return None
    texts = [text for _, text in pairs]
    if all(text == texts[0] for text in texts):
        return texts[0]
    out = f"{{% if {option} == {literal(pairs[0][0])} %}}{texts[0]}"
    for value, text in pairs[1:-1]:
        out += f"{{% elsif {option} == {literal(value)} %}}{text}"
    return out + f"{{% else %}}{texts[-1]}{{% endif %}}"

caches, databases, auths = ["redis", "memory"], ["postgres+sqlite", "postgres"], ["jwt", "none"]
graphqls = ["true", "false"]
out, conditional = [full_head], 0
for key in full:
    def text(cache, database, auth, graphql):
        combo = (cache, database, auth, graphql)
        if combo not in variants:
            return None
        block = variants[combo][1].get(key)
        return "" if block is None else "\n" + block
    piece = choose("cache", caches, lambda cache: choose(
        "database", databases, lambda database: choose(
            "auth", auths, lambda auth: choose(
                "graphql", graphqls, lambda graphql: text(cache, database, auth, graphql)))))
    conditional += "{%" in piece
    out.append(piece)
open(out_path, "w", encoding="utf-8").write("".join(out))
print(f"template/Cargo.lock: {len(full)} packages, {conditional} conditional on cache, database, auth or graphql")
PY

# The merged file must render back to exactly what cargo wrote for each combination.
for combo in "${combos[@]}"; do
    read -r cache database auth graphql <<<"$combo"
    name=$(name_of "$cache" "$database" "$auth" "$graphql")
    # shellcheck disable=SC2046
    generate "check-$name" $(defines "$cache" "$database" "$auth" "$graphql")
    cmp "$scratch/$name/Cargo.lock" "$scratch/check-$name/Cargo.lock"
done
echo "every combination of cache, database, auth and graphql renders the lock cargo wrote for it"
