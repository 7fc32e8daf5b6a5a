#!/usr/bin/env bash
# The generation hooks refuse bad input with a clear message and leave nothing behind.
# Usage: tests/hooks.sh <template-repo> <scratch-dir>. Prints one line per case, then
# "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail

repo=$1
scratch=$2
mkdir -p "$scratch"
passed=0
failed=0

# report <case> <cargo-generate output> [problem...]: counts and prints the case, then empties
# the scratch folder for the next one.
report() {
    local name=$1 output=$2
    shift 2
    if [[ $# -eq 0 ]]; then
        passed=$((passed + 1))
        echo "ok    $name"
    else
        failed=$((failed + 1))
        echo "FAIL  $name: $*"
        echo "$output" | tail -n 5 | sed 's/^/      /'
    fi
    find "$scratch" -mindepth 1 -delete
}

# refuse <case> <folder|no-folder> <expected message fragment> <cargo-generate arguments...>
# `no-folder`: the check runs in the `init` hook, before cargo-generate creates the destination,
# so not even a folder may remain. `folder`: the check needs the answers to the prompts, which
# cargo-generate only reads after it has created the (empty) destination folder; that empty
# folder is all that may remain.
refuse() {
    local name=$1 folder=$2 expected=$3
    shift 3
    local output status destination
    destination="$scratch/$name"
    rm -rf "$destination"
    output=$(cd "$scratch" && cargo generate --path "$repo" --silent --vcs none "$@" 2>&1)
    status=$?
    local problems=()
    [[ $status -ne 0 ]] || problems+=("generation succeeded")
    [[ "$output" == *"$expected"* ]] || problems+=("message lacks '$expected'")
    local leftovers
    leftovers=$(find "$scratch" -mindepth 1 -not -type d 2>/dev/null | head -n 3)
    [[ -z "$leftovers" ]] || problems+=("files left behind: $leftovers")
    if [[ $folder == no-folder && -n "$(ls -A "$scratch")" ]]; then
        problems+=("a folder was created: $(ls -A "$scratch")")
    fi
    report "$name" "$output" "${problems[@]}"
}

refuse keyword-name no-folder "is a Rust keyword" --name fn
refuse std-crate-name no-folder "ships with Rust" --name std
refuse internal-crate-name no-folder "already has a crate or test named" --name domain
refuse test-binary-name no-folder "already has a crate or test named" --name end-to-end
refuse leading-digit-name no-folder "must not start with a digit" --name 9lives
refuse privileged-port folder "between 1024 and 65535" --name ok-svc -d http_port=80
refuse too-large-port folder "between 1024 and 65535" --name ok-svc -d http_port=70000
refuse non-numeric-port folder "whole number" --name ok-svc -d http_port=eighty
refuse quote-in-description folder "must not contain quotes" --name ok-svc -d 'description=say "hi"'
refuse unknown-ci folder '"gitlab" is not a valid value for ci' --name ok-svc -d ci=gitlab
refuse unknown-cache folder '"memcached" is not a valid value for cache' --name ok-svc -d cache=memcached
refuse unknown-auth folder '"oauth" is not a valid value for auth' --name ok-svc -d auth=oauth
refuse graphql-without-tokens folder "graphql=true needs auth=jwt" --name ok-svc -d graphql=true -d auth=none
refuse messaging-on-sqlite folder "needs database=postgres" --name ok-svc -d messaging=rabbitmq
refuse messaging-without-example folder "needs example=true" --name ok-svc -d messaging=rabbitmq -d database=postgres -d example=false
refuse nats-on-sqlite folder "messaging=nats needs database=postgres" --name ok-svc -d messaging=nats
refuse unknown-messaging folder '"kafka" is not a valid value for messaging' --name ok-svc -d messaging=kafka
refuse memory-cache-on-kubernetes folder "cannot go with kubernetes=true" --name ok-svc -d cache=memory -d kubernetes=true

# env <case> <expectation: random|placeholders> <cargo-generate arguments...>: the post hook
# writes .env with random secrets when commands are allowed, clear placeholders otherwise,
# and prints the next steps.
env_file() {
    local name=$1 expected=$2
    shift 2
    local destination="$scratch/$name-svc" output problems=()
    output=$(cd "$scratch" && cargo generate --path "$repo" --name "$name-svc" --silent --vcs none --no-fmt "$@" 2>&1) ||
        problems+=("generation failed")
    local env="$destination/.env"
    [[ "$output" == *"Next steps:"* ]] || problems+=("no next steps printed")
    if [[ ! -f $env ]]; then
        problems+=("no .env written")
    elif [[ $expected == random-no-auth ]]; then
        # auth=none: no token secret to make, and no `token` command to suggest.
        grep -q '^APP__HTTP__CURSOR_SECRET=[0-9a-f]\{64\}$' "$env" || problems+=("no random cursor secret")
        ! grep -q 'HS256_SECRET' "$env" || problems+=("a JWT secret in a service without tokens")
        [[ "$output" != *" token "* ]] || problems+=("next steps mention the token command")
    elif [[ $expected == random ]]; then
        local cursor jwt
        cursor=$(sed -n 's/^APP__HTTP__CURSOR_SECRET=//p' "$env")
        jwt=$(sed -n 's/^APP__AUTH__HS256_SECRET=//p' "$env")
        [[ $cursor =~ ^[0-9a-f]{64}$ ]] || problems+=("cursor secret is '$cursor', not 64 hex characters")
        [[ $jwt =~ ^[0-9a-f]{64}$ && $jwt != "$cursor" ]] || problems+=("jwt secret is '$jwt', not a second random value")
        grep -q '^APP__DATABASE__ENCRYPTION_KEYS=local:[A-Za-z0-9+/]\{43\}=$' "$env" || problems+=("no random encryption key")
    else
        grep -q '^# APP__HTTP__CURSOR_SECRET=<' "$env" || problems+=("no commented placeholder")
        ! grep -q '^APP__HTTP__CURSOR_SECRET=' "$env" || problems+=("a secret was set without commands")
    fi
    report "$name" "$output" "${problems[@]}"
}
env_file env-random-secrets random --allow-commands
env_file env-placeholders placeholders
env_file env-no-auth random-no-auth --allow-commands -d auth=none

echo "hooks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
