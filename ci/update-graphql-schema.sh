#!/usr/bin/env bash
# Regenerates template/docs/schema.graphql after the GraphQL schema changed: generates the
# service with graphql=true, with and without the example resource, lets each write the SDL it
# serves, and joins the two into one Liquid file (`{% if example %}…{% else %}…{% endif %}`).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${HARNESS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-service-template/target}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

export_schema() { # <folder> <defines...>
    local folder=$1
    shift
    mkdir -p "$scratch/$folder"
    (cd "$scratch" && cargo generate --path "$repo" --name schema-svc --silent --vcs none \
        --destination "$scratch/$folder" -d graphql=true -d auth=jwt "$@") >&2
    (cd "$scratch/$folder/schema-svc" &&
        UPDATE_GRAPHQL_SCHEMA=1 cargo test --quiet -p adapter-http --test http_adapter the_committed_schema_is_current) >&2
    cat "$scratch/$folder/schema-svc/docs/schema.graphql"
}

with_example=$(export_schema with-example -d example=true)
without_example=$(export_schema without-example -d example=false)
if grep -q '{[{%]' <<<"$with_example$without_example"; then
    echo "the SDL contains '{{' or '{%', which Liquid would read as its own" >&2
    exit 1
fi
printf '{%% if example %%}%s\n{%% else %%}%s\n{%% endif %%}' "$with_example" "$without_example" \
    >"$repo/template/docs/schema.graphql"
echo "updated template/docs/schema.graphql"
