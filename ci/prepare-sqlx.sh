#!/usr/bin/env bash
# Regenerates the sqlx offline query data shipped in template/.sqlx after a query or a
# migration changed: generates the default variant, migrates a scratch database, runs
# `cargo sqlx prepare`, and copies the result back into the template.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/ci/install-cargo-generate.sh" >/dev/null
bash "$repo/ci/install-sqlx-cli.sh" >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
base=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="${base%/*}/template_sqlx_prepare"
export CARGO_TARGET_DIR=${HARNESS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-service-template/target}

(cd "$scratch" && cargo generate --path "$repo" --name prepare-svc --silent --vcs none)
cd "$scratch/prepare-svc"
cargo sqlx database drop -y >/dev/null 2>&1 || true
cargo sqlx database create
cargo sqlx migrate run --source migrations
SQLX_OFFLINE=false cargo sqlx prepare --workspace -- --all-targets
rm -rf "$repo/template/.sqlx"
cp -r .sqlx "$repo/template/.sqlx"
cargo sqlx database drop -y
echo "updated template/.sqlx ($(ls "$repo/template/.sqlx" | wc -l) queries)"
