#!/usr/bin/env bash
# Installs the pinned cargo-generate, unless that exact version is already on PATH.
#
# Why not `cargo install cargo-generate --locked`: the lock file published with 0.26.0 needs a
# newer Rust than many machines have (cargo-util-schemas 0.14.3 wants 1.97), and without
# --locked cargo resolves to those same versions. So we build it from its published source
# with a lock file resolved for an older toolchain, committed next to this script.
set -euo pipefail

version=0.26.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lock="$here/cargo-generate-$version.lock"
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}

if installed=$(cargo generate --version 2>/dev/null) && [[ "$installed" == *" $version"* ]]; then
    echo "cargo-generate $version already installed"
    exit 0
fi

echo "installing cargo-generate $version into $root (a few minutes, once)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Let cargo download the published crate (and its dependencies) through the registry.
mkdir -p "$scratch/fetch/src"
cat > "$scratch/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-cargo-generate"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
cargo-generate = "=$version"
TOML
touch "$scratch/fetch/src/lib.rs"
CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo fetch --quiet --manifest-path "$scratch/fetch/Cargo.toml"
manifest=$(cargo metadata --format-version 1 --manifest-path "$scratch/fetch/Cargo.toml" |
    python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "cargo-generate"))')

cp -r "$(dirname "$manifest")" "$scratch/cargo-generate"
cp "$lock" "$scratch/cargo-generate/Cargo.lock"
cargo install --quiet --locked --path "$scratch/cargo-generate" --root "$root"
cargo generate --version
