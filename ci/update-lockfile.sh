#!/usr/bin/env bash
# Regenerates template/Cargo.lock after a dependency changed. One lock file serves every
# variant: packages only the `cache = "redis"` variant uses are wrapped in Liquid `if` blocks,
# so each generated project gets exactly the lock cargo would write for it, and builds with
# `--locked`. Steps: resolve the full (default) variant, let cargo prune the lock of the
# cache=memory variant (same versions, fewer packages), and merge the two.
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

generate full-svc
(cd "$scratch/full-svc" && cargo metadata --format-version 1 >/dev/null)
generate memory-svc -d cache=memory -d kubernetes=false
cp "$scratch/full-svc/Cargo.lock" "$scratch/memory-svc/Cargo.lock"
(cd "$scratch/memory-svc" && cargo metadata --format-version 1 >/dev/null)

python3 - "$scratch/full-svc/Cargo.lock" "$scratch/memory-svc/Cargo.lock" "$repo/template/Cargo.lock" <<'PY'
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

full_head, full = blocks(sys.argv[1])
memory_head, memory = blocks(sys.argv[2])
assert full_head == memory_head, "the lock headers differ"
assert set(memory) <= set(full), f"only in the memory variant: {set(memory) - set(full)}"
out, only_redis, differing = [full_head], 0, 0
for key, block in full.items():
    piece = "\n" + block
    if key not in memory:
        out.append('{% if cache == "redis" %}' + piece + "{% endif %}")
        only_redis += 1
    elif memory[key] != block:
        out.append('{% if cache == "redis" %}' + piece + "{% else %}\n" + memory[key] + "{% endif %}")
        differing += 1
    else:
        out.append(piece)
text = "".join(out)
open(sys.argv[3], "w", encoding="utf-8").write(text)
print(f"template/Cargo.lock: {len(full)} packages, {only_redis} only with cache=redis, {differing} differing")
PY

# The merged file must render back to exactly what cargo wrote for each variant.
generate check-full
generate check-memory -d cache=memory -d kubernetes=false
cmp "$scratch/full-svc/Cargo.lock" "$scratch/check-full/Cargo.lock"
cmp "$scratch/memory-svc/Cargo.lock" "$scratch/check-memory/Cargo.lock"
echo "both variants render the lock cargo wrote for them"
