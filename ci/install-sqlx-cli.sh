#!/usr/bin/env bash
# Installs the pinned sqlx-cli (for `cargo sqlx prepare --check`), unless it is already there.
set -euo pipefail

version=0.9.0
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}
if installed=$(cargo sqlx --version 2>/dev/null) && [[ "$installed" == *" $version"* ]]; then
    echo "sqlx-cli $version already installed"
    exit 0
fi
echo "installing sqlx-cli $version into $root (a few minutes, once)"
cargo install --quiet --locked sqlx-cli --version "$version" \
    --no-default-features --features postgres,rustls --root "$root"
cargo sqlx --version
