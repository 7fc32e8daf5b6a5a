#!/usr/bin/env bash
# Runs every test of the template: generates each variant outside the repository and puts it
# through the same gates a team's CI would (no unrendered Liquid, fmt, clippy -D warnings, a
# build with zero warnings, sqlx offline data current, a valid OpenAPI document, the
# generated project's own tests against real PostgreSQL and Redis), plus the generation
# hooks' refusals. Prints a table variant x step with times and
# exits non-zero on any failure.
#
# Environment:
#   HARNESS_TARGET_DIR  shared cargo target dir for all variants (default: ~/.cache/...)
#   HARNESS_VARIANTS    space-separated subset of variant names to run (default: all)
#   DATABASE_URL        PostgreSQL for the generated tests (default: local server)
#   REDIS_URL           Redis for the generated tests (default: local server)
#   AMQP_URL            RabbitMQ for the messaging=rabbitmq variants' tests (default: local server)
#   NATS_URL            NATS JetStream for the messaging=nats variants' tests (default: local server)
#   HARNESS_VENV        where the pinned Python linters are installed (default: ~/.cache/...)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${HARNESS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-service-template/target}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export AMQP_URL=${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
export CARGO_TERM_COLOR=never
# One build at a time on small machines: cargo's own parallelism is enough.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-$(nproc)}
# Each variant is built once: incremental caches only cost disk, and full debug info makes every
# test binary several times larger (line tables keep panics and backtraces readable).
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}

# Variants: name, then cargo-generate --define arguments. Together they cover every value of
# every option and every pair of values (checked by tests/pairwise.py before anything runs);
# options left out of a row take their defaults.
declare -A variants=(
    [default]=""
    [example-memory]="-d database=postgres -d cache=memory -d graphql=true -d messaging=rabbitmq -d kubernetes=false -d ci=none"
    [bare-k8s]="-d example=false -d database=postgres -d auth=none -d ci=none"
    [bare-memory]="-d example=false -d cache=memory -d graphql=true -d kubernetes=false"
    [example-plain]="-d database=postgres -d auth=none -d messaging=rabbitmq"
    [embedded-plain]="-d auth=none -d kubernetes=false -d ci=none"
    [graphql-k8s]="-d database=postgres -d graphql=true -d messaging=nats"
    [nats-memory]="-d database=postgres -d cache=memory -d auth=none -d messaging=nats -d kubernetes=false -d ci=none"
)
order=(default example-memory bare-k8s bare-memory example-plain embedded-plain graphql-k8s nats-memory)
if [[ -n "${HARNESS_VARIANTS:-}" ]]; then
    read -r -a order <<<"$HARNESS_VARIANTS"
fi

started_all=$(date +%s)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/template-harness.XXXXXX")
logs="$scratch/logs"
mkdir -p "$logs"
# Eight variants with a shared target took 11 GB at the peak (measured); say so before running out.
mkdir -p "$CARGO_TARGET_DIR"
free_gb=$(( $(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 { print $4 }') / 1024 / 1024 ))
if (( free_gb < 15 )); then
    echo "harness: only ${free_gb} GB free under $CARGO_TARGET_DIR; a full run needs about 12 GB."
    echo "  Free some space (an old target directory: rm -rf $CARGO_TARGET_DIR) or set HARNESS_TARGET_DIR."
    exit 1
fi
echo "harness: ${free_gb} GB free under $CARGO_TARGET_DIR"
echo "harness: generating into $scratch (outside the repository: cargo must not see the template's workspace)"
echo "harness: CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

rows=()
summary=()
passed=0
failed=0

# record <variant> <step> <status> <seconds> [note]
record() {
    rows+=("$(printf '%-14s %-14s %-5s %6ss  %s' "$1" "$2" "$3" "$4" "${5:-}")")
    if [[ $3 == PASS ]]; then passed=$((passed + 1)); elif [[ $3 == FAIL ]]; then failed=$((failed + 1)); fi
}

# step <variant> <step> <command...>: runs the command, logs its output, records the outcome.
step() {
    local variant=$1 name=$2
    shift 2
    local log="$logs/$variant-$name.log" begin end status
    begin=$(date +%s)
    "$@" >"$log" 2>&1
    status=$?
    end=$(date +%s)
    if [[ $status -eq 0 ]]; then
        record "$variant" "$name" PASS $((end - begin)) "$(note_for "$name" "$log")"
    else
        record "$variant" "$name" FAIL $((end - begin)) "see below"
        echo "---- $variant / $name failed (last 40 lines of $log) ----"
        tail -n 40 "$log"
    fi
    return $status
}

note_for() {
    case $1 in
        test)
            awk '/^test result:/ {p += $4; f += $6} END {printf "%d tests passed, %d failed", p, f}' "$2" ;;
        build)
            echo "0 warnings" ;;
        release-drain)
            grep -m1 '^requests ok' "$2" ;;
        load-test)
            grep -m1 '^load test:' "$2" | sed 's/^load test: //' ;;
        todo)
            grep -m1 'items:' "$2" ;;
        fuzz)
            grep -E '^(schemathesis|docs:)' "$2" | sed -e 's/^schemathesis //' | paste -sd ';' - ;;
        checkov)
            awk '/^Passed checks/ {gsub(",", ""); p += $3; f += $6; s += $9} END {printf "%d passed, %d failed, %d skipped (justified in the manifests)", p, f, s}' "$2" ;;
        service)
            tail -n 1 "$2" | sed 's/^upgrade: //' ;;
        liquid-lines)
            head -1 "$2" | sed 's/^liquid: //' ;;
        hadolint | workflows | kubernetes | cargo-deny)
            echo "0 findings" ;;
    esac
}

# --- tools and services -------------------------------------------------------------------
step tools cargo-generate bash "$repo/ci/install-cargo-generate.sh" || { echo "cannot install cargo-generate"; exit 1; }
step tools sqlx-cli bash "$repo/ci/install-sqlx-cli.sh" || { echo "cannot install sqlx-cli"; exit 1; }
step tools python-tools bash "$repo/ci/install-python-tools.sh" || { echo "cannot install the Python linters"; exit 1; }
step tools system-tools bash "$repo/ci/install-system-tools.sh" || { echo "cannot install shellcheck or cargo-deny"; exit 1; }
python_tools=$(bash "$repo/ci/install-python-tools.sh")
step tools services bash "$repo/ci/services.sh" || {
    printf '%s\n' "${rows[@]}"
    echo "harness: PostgreSQL, Redis, RabbitMQ and NATS are needed (see the log above); 0 passed, 1 failed"
    exit 1
}

# --- the hooks and the option matrix --------------------------------------------------------
step hooks refusals bash "$repo/tests/hooks.sh" "$repo" "$scratch/hooks"
pairwise_args=()
for variant in "${order[@]}"; do pairwise_args+=("$variant=${variants[$variant]-}"); done
step options pairwise python3 "$repo/tests/pairwise.py" "$repo/template/cargo-generate.toml" "${pairwise_args[@]}"
# The template's Rust stays plain Rust: no Liquid tag between two pieces of code on one line.
step template liquid-lines python3 "$repo/tests/liquid_lines.py" "$repo/template"

# --- each variant ---------------------------------------------------------------------------
no_build_warnings() {
    cargo build --all-targets --locked 2>&1 | tee /dev/stderr | { ! grep -E '^warning'; }
}

# The committed sqlx offline data must match the queries: prepare against a freshly migrated
# database of this variant's own and compare.
sqlx_offline_data_current() {
    local variant=$1
    local url="${DATABASE_URL%/*}/harness_sqlx_${variant//-/_}"
    DATABASE_URL=$url cargo sqlx database reset -y --source migrations &&
        DATABASE_URL=$url SQLX_OFFLINE=false cargo sqlx prepare --workspace --check -- --all-targets
    local status=$?
    DATABASE_URL=$url cargo sqlx database drop -y >/dev/null 2>&1
    return $status
}

openapi_document_valid() {
    "$python_tools/openapi-spec-validator" docs/openapi.json
}

# Delivery files, checked offline: there is no container engine to build or run them here.
hadolint_clean() {
    "$python_tools/hadolint" Dockerfile
}

# Steps that check a part an option may leave out: SKIP (with the reason) when it is absent.
absent() {
    [[ -e $1 ]] && return 1
    record "$variant" "$2" SKIP 0 "$3"
}

# Every overlay rendered and validated: the core kinds by kubernetes-validate (which only warns
# about custom resources), the custom ones (Argo Rollouts, Kyverno) by tests/crd_validate.py
# against their published schemas, vendored (tests/schemas/README.md).
manifests_valid() {
    local overlay rendered="$scratch/rendered-$variant.yaml"
    for overlay in deploy/kubernetes/overlays/*/; do
        echo "== $overlay"
        kubectl kustomize "$overlay" >"$rendered" &&
            "$python_tools/kubernetes-validate" --strict "$rendered" &&
            "$python_tools/python" "$repo/tests/crd_validate.py" "$repo/tests/schemas" "$rendered" || return 1
    done
    [[ -d deploy/kubernetes/policies ]] || return 0
    echo "== deploy/kubernetes/policies"
    "$python_tools/python" "$repo/tests/crd_validate.py" "$repo/tests/schemas" deploy/kubernetes/policies/*.yaml
}

alerts_valid() {
    (cd deploy/kubernetes/base && promtool check rules alerts.yaml && promtool test rules alerts.test.yaml)
}

checkov_clean() {
    local rendered overlay
    rendered=$(mktemp -d)
    for overlay in deploy/kubernetes/overlays/*/; do
        [[ -d $overlay ]] || continue
        kubectl kustomize "$overlay" >"$rendered/$(basename "$overlay").yaml" || return 1
    done
    cp Dockerfile "$rendered/"
    BC_SKIP_MAPPING=TRUE "$python_tools/checkov" --quiet --compact \
        --framework kubernetes dockerfile -d "$rendered"
}

# actionlint and zizmor for the workflows; SchemaStore's schemas (vendored in check-jsonschema)
# for the workflows and the Dependabot configuration, which actionlint does not read.
workflows_clean() {
    "$python_tools/actionlint" .github/workflows/*.yml &&
        "$python_tools/zizmor" --offline .github/ &&
        "$python_tools/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml &&
        "$python_tools/check-jsonschema" --builtin-schema vendor.dependabot .github/dependabot.yml
}

# The release binary run as the Dockerfile runs it (uid 65532, read-only working directory,
# the shipped config/ with APP_ENV=production, secrets from the environment), stopped with
# SIGTERM under load.
release_drain() {
    cargo build --release --locked --bin "$1" &&
        python3 "$repo/tests/drain.py" "$CARGO_TARGET_DIR/release/$1" config
}

no_unrendered_liquid() {
    # `{{` or `{%` left in any file means a placeholder or tag was not rendered. GitHub
    # Actions expressions (`${{ ... }}`) and Argo Rollouts' analysis arguments (`{{args.`)
    # are meant to stay.
    if grep -rInP --exclude-dir=.git --exclude-dir=target '(^|[^$])\{\{(?!args\.)|\{%' .; then
        return 1
    fi
    echo "no Liquid left in $(find . -type f -not -path './.git/*' | wc -l) files"
}

for variant in "${order[@]}"; do
    if [[ -z "${variants[$variant]+set}" ]]; then
        echo "unknown variant $variant"; failed=$((failed + 1)); continue
    fi
    variant_started=$(date +%s)
    project="$variant-svc"
    destination="$scratch/$project"
    # shellcheck disable=SC2086 # the defines are deliberately split into words
    if ! step "$variant" generate bash -c "cd '$scratch' && cargo generate --path '$repo' --name '$project' --silent --vcs none ${variants[$variant]}"; then
        continue
    fi
    cd "$destination" || exit 1
    step "$variant" liquid no_unrendered_liquid
    step "$variant" fmt cargo fmt --all -- --check
    # cargo-generate formats what it writes; the template itself must already be formatted, so
    # also check a copy generated with --no-fmt.
    step "$variant" fmt-raw bash -c "cd '$scratch' && cargo generate --path '$repo' --name '$project-raw' --silent --vcs none --no-fmt ${variants[$variant]} && cd '$project-raw' && cargo fmt --all -- --check"
    if step "$variant" build no_build_warnings; then
        step "$variant" clippy cargo clippy --all-targets --locked -- -D warnings
        step "$variant" sqlx-offline sqlx_offline_data_current "$variant"
        step "$variant" openapi openapi_document_valid
        step "$variant" hadolint hadolint_clean
        absent deploy/kubernetes kubernetes "kubernetes=false" || step "$variant" kubernetes manifests_valid
        absent deploy/kubernetes alerts "kubernetes=false" || step "$variant" alerts alerts_valid
        step "$variant" checkov checkov_clean
        absent .github workflows "ci=none" || step "$variant" workflows workflows_clean
        step "$variant" cargo-deny cargo deny --locked --offline check bans licenses sources
        step "$variant" test cargo test --locked --no-fail-fast
        # The root README's example API lines (written for the defaults, auth=jwt), and with
        # auth=none the generated README's own, on the embedded default with no server configured.
        absent crates/adapter-sqlite readme-curl "database=postgres" ||
            absent crates/domain/src/items readme-curl "example=false" ||
            if [[ -e crates/adapter-http/src/auth ]]; then
                step "$variant" readme-curl bash "$repo/tests/readme_curl.sh" "$repo/README.md" "$project"
            else
                step "$variant" readme-curl bash "$repo/tests/readme_curl.sh" README.md "$project" "Try the example resource"
            fi
        # An outsider's tries: schemathesis over the OpenAPI document (and GraphQL), hostile
        # GraphQL documents, and /docs in headless Chromium, against the running service.
        absent crates/domain/src/items fuzz "example=false" ||
            step "$variant" fuzz python3 "$repo/tests/api_fuzz.py" . "$CARGO_TARGET_DIR/debug/$project" "$python_tools" "$variant"
        step "$variant" todo python3 "$repo/tests/todo_check.py" . "$logs/todo-ids-$variant.tsv"
        if [[ $variant == default ]]; then
            step "$variant" release-drain release_drain "$project"
            # The generated load test, 10 s against the release service; its reports stay in logs.
            step "$variant" load-test python3 "$repo/tests/load_test.py" "$CARGO_TARGET_DIR/release/$project" \
                "$CARGO_TARGET_DIR/debug/load-test" config "$logs/load-test" 10
        fi
    else
        for skipped in clippy sqlx-offline openapi hadolint kubernetes alerts checkov workflows cargo-deny test readme-curl fuzz todo release-drain load-test; do
            record "$variant" "$skipped" SKIP 0 "build failed"
        done
    fi
    # This variant's executables (its test binaries and the service) are its own: other variants
    # build theirs with other features. Dropping them keeps a full run within a machine's disk;
    # the shared dependencies (rlibs, proc macros) stay for the next variant.
    find "$CARGO_TARGET_DIR/debug" "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -perm -u+x \
        ! -name '*.so' -delete 2>/dev/null
    cd "$repo" || exit 1
    summary+=("$(printf '%-14s %6ss  %s' "$variant" $(( $(date +%s) - variant_started )) "${variants[$variant]:-(all defaults)}")")
done

# A service generated from this template takes a newer version of it (ci/upgrade.sh): every
# refusal, a three-way merge with conflicts, and the upgraded service's build and tests. Its
# options are embedded-plain's plus the default ci=github, so the dependencies are already built.
step upgrade service bash "$repo/tests/upgrade.sh" "$repo" "$scratch/upgrade"
find "$CARGO_TARGET_DIR/debug" "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -perm -u+x \
    ! -name '*.so' -delete 2>/dev/null

# TODO IDs mean the same item in every variant.
step all todo-ids bash -c "python3 '$repo/tests/todo_stable.py' '$logs'/todo-ids-*.tsv"

total=$(( $(date +%s) - started_all ))
echo
echo "variant        step           result  time  note"
printf '%s\n' "${rows[@]}"
echo
echo "variant        time     options (pairwise set)"
printf '%s\n' "${summary[@]}"
echo "total ${total}s; logs in $logs"
echo "harness: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
