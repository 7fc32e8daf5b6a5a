#!/usr/bin/env bash
# Regenerates template/Cargo.lock after a dependency changed. One lock file serves every
# variant: packages that only some values of `cache`, `database`, `auth`, `graphql` and `messaging` use are wrapped in Liquid
# `if` blocks, so each generated project gets exactly the lock cargo would write for it, and
# builds with `--locked`. Steps: resolve the variant with the most optional parts, let cargo
# adjust its lock to each other combination (same versions; fewer packages, or a few more when
# a combination adds its own, like the broker client), and merge them all.
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
# graphql x messaging, less what the pre hook refuses (graphql=true with auth=none; a broker
# without database=postgres).
combos=()
for cache in redis memory; do
    for database in postgres+sqlite postgres; do
        for auth in jwt none; do
            for graphql in true false; do
                for messaging in none rabbitmq nats; do
                    [[ $auth == none && $graphql == true ]] && continue
                    [[ $messaging != none && $database != postgres ]] && continue
                    combos+=("$cache $database $auth $graphql $messaging")
                done
            done
        done
    done
done
defines() { # <cache> <database> <auth> <graphql> <messaging>
    local kubernetes=true
    [[ $1 == memory ]] && kubernetes=false
    echo "-d cache=$1 -d database=$2 -d auth=$3 -d graphql=$4 -d messaging=$5 -d kubernetes=$kubernetes"
}
name_of() { echo "lock-$1-${2//+/-}-$3-$4-$5"; }

# The variant with the most optional packages; the others start from its lock.
first=$(name_of redis postgres+sqlite jwt true none)
# shellcheck disable=SC2046 # the defines are deliberately split into words
generate "$first" $(defines redis postgres+sqlite jwt true none)
(cd "$scratch/$first" && cargo metadata --format-version 1 >/dev/null)
locks=()
for combo in "${combos[@]}"; do
    read -r cache database auth graphql messaging <<<"$combo"
    name=$(name_of "$cache" "$database" "$auth" "$graphql" "$messaging")
    if [[ $name != "$first" ]]; then
        # shellcheck disable=SC2046
        generate "$name" $(defines "$cache" "$database" "$auth" "$graphql" "$messaging")
        cp "$scratch/$first/Cargo.lock" "$scratch/$name/Cargo.lock"
        (cd "$scratch/$name" && cargo metadata --format-version 1 >/dev/null)
    fi
    locks+=("$cache" "$database" "$auth" "$graphql" "$messaging" "$scratch/$name/Cargo.lock")
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
for i in range(0, len(args), 6):
    variants[tuple(args[i : i + 5])] = blocks(args[i + 5])
(full_head, _), *_ = variants.values()
for combo, (head, _) in variants.items():
    assert head == full_head, f"the lock headers differ for {combo}"

def version_key(version):
    """Cargo orders packages by name, then by semantic version."""
    release, _, pre = version.strip("\"").partition("-")
    numbers = tuple(int(part) for part in release.split("+")[0].split("."))
    return numbers + ((1, "") if not pre else (0, pre))

# Every package any combination has, in cargo's order.
full = sorted({key for _, packages in variants.values() for key in packages},
              key=lambda key: (key[0], version_key(key[1])))

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
graphqls, messagings = ["true", "false"], ["none", "rabbitmq", "nats"]
out, conditional = [full_head], 0
for key in full:
    def text(*combo):
        if combo not in variants:
            return None
        block = variants[combo][1].get(key)
        return "" if block is None else "\n" + block
    piece = choose("cache", caches, lambda cache: choose(
        "database", databases, lambda database: choose(
            "auth", auths, lambda auth: choose(
                "graphql", graphqls, lambda graphql: choose(
                    "messaging", messagings,
                    lambda messaging: text(cache, database, auth, graphql, messaging))))))
    conditional += "{%" in piece
    out.append(piece)
open(out_path, "w", encoding="utf-8").write("".join(out))
print(f"template/Cargo.lock: {len(full)} packages, {conditional} conditional on cache, database, auth, graphql or messaging")
PY

# The merged file must render back to exactly what cargo wrote for each combination.
for combo in "${combos[@]}"; do
    read -r cache database auth graphql messaging <<<"$combo"
    name=$(name_of "$cache" "$database" "$auth" "$graphql" "$messaging")
    # shellcheck disable=SC2046
    generate "check-$name" $(defines "$cache" "$database" "$auth" "$graphql" "$messaging")
    cmp "$scratch/$name/Cargo.lock" "$scratch/check-$name/Cargo.lock"
done
echo "every combination of cache, database, auth, graphql and messaging renders the lock cargo wrote for it"

# The lock does not branch on `example`: a service without the example must need exactly the
# packages of the same combination with it (dev-dependencies included), or --locked builds fail.
for defines in "-d example=false" "-d example=false -d database=postgres -d auth=none" "-d example=false -d cache=memory -d graphql=true -d kubernetes=false"; do
    # shellcheck disable=SC2086 # the defines are deliberately split into words
    generate bare-check $defines
    cp "$scratch/bare-check/Cargo.lock" "$scratch/bare-check.lock"
    (cd "$scratch/bare-check" && cargo metadata --format-version 1 >/dev/null)
    if ! cmp -s "$scratch/bare-check/Cargo.lock" "$scratch/bare-check.lock"; then
        echo "with $defines cargo changes the lock: a dependency differs with example=false" >&2
        diff "$scratch/bare-check.lock" "$scratch/bare-check/Cargo.lock" >&2
        exit 1
    fi
    rm -rf "$scratch/bare-check"
done
echo "and without the example, each needs the same lock"
