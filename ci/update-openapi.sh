#!/usr/bin/env bash
# Regenerates template/docs/openapi.json after the API changed: generates each variant with
# marker values, lets each write the document it serves, and merges them into one Liquid
# file (`{% if auth == "jwt" %}{% if example %}…` for example x auth) with the name and description as placeholders.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${HARNESS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-service-template/target}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
name=openapi-marker-svc
description=openapi-marker-description

export_document() { # <folder> <defines...>
    local folder=$1
    shift
    mkdir -p "$scratch/$folder"
    (cd "$scratch" && cargo generate --path "$repo" --name "$name" --silent --vcs none \
        --destination "$scratch/$folder" -d "description=$description" "$@") >&2
    (cd "$scratch/$folder/$name" && UPDATE_OPENAPI=1 cargo test --quiet -p adapter-http --test http_adapter the_committed_openapi_document_is_current) >&2
    sed -e "s/$name/{{project-name}}/g" -e "s/$description/{{description}}/g" \
        "$scratch/$folder/$name/docs/openapi.json"
}

with_jwt=$(export_document with-jwt -d example=true -d auth=jwt)
without_jwt=$(export_document without-jwt -d example=false -d auth=jwt)
with_none=$(export_document with-none -d example=true -d auth=none)
without_none=$(export_document without-none -d example=false -d auth=none)
{
    printf '{%% if auth == "jwt" %%}{%% if example %%}%s\n{%% else %%}%s\n{%% endif %%}' "$with_jwt" "$without_jwt"
    printf '{%% else %%}{%% if example %%}%s\n{%% else %%}%s\n{%% endif %%}{%% endif %%}' "$with_none" "$without_none"
} >"$repo/template/docs/openapi.json"
echo "updated template/docs/openapi.json"
