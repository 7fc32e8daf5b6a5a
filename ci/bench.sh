#!/usr/bin/env bash
# Benchmarks the default generated service on this machine and writes docs/benchmarks.md.
# Not a test: figures depend on the machine, so nothing here asserts a time. It reports them,
# each scenario also as a ratio to a bare axum handler measured in the same run, and says for
# each target whether this run met it.
#
# What it does: generates the default service (timed), builds it cold, warm and after touching
# one handler (timed, in a scratch target dir), builds the release binary and the baseline,
# starts the service against the local PostgreSQL and Redis, measures start-up to ready and
# idle RSS, seeds a tenant with items, then runs wrk against each scenario (warm-up first,
# then a fixed duration and connection count) and hey at half the cached read's throughput.
#
# Environment: BENCH_DURATION (15s), BENCH_WARMUP (5s), BENCH_CONNECTIONS (32),
# BENCH_SKIP_COLD_BUILD=1 (reuse the last cold-build figures: a cold build takes minutes),
# DATABASE_URL / REDIS_URL (local servers by default), BENCH_OUTPUT (docs/benchmarks.md).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${BENCH_DURATION:-15s}
warmup=${BENCH_WARMUP:-5s}
connections=${BENCH_CONNECTIONS:-32}
output=${BENCH_OUTPUT:-$repo/docs/benchmarks.md}
database_base=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export CARGO_TARGET_DIR=${HARNESS_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-service-template/target}
export CARGO_TERM_COLOR=never
service_port=18080
baseline_port=18081

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
seconds_since() { python3 -c "import time,sys; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }
now() { python3 -c 'import time; print(time.time())'; }

# --- tools --------------------------------------------------------------------------------
bash "$repo/ci/install-cargo-generate.sh" >&2
bash "$repo/ci/services.sh" >&2
if ! command -v wrk >/dev/null || ! command -v hey >/dev/null; then
    log "installing wrk and hey (Debian packages)"
    sudo_cmd=""; [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -q --no-install-recommends wrk hey >&2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/template-bench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

# --- generation and builds ------------------------------------------------------------------
started=$(now)
(cd "$scratch" && cargo generate --path "$repo" --name bench-svc --silent --vcs none >/dev/null)
generation_s=$(seconds_since "$started")
project="$scratch/bench-svc"
log "generated in ${generation_s}s"

cold_build_s="not measured (BENCH_SKIP_COLD_BUILD=1)"; warm_build_s="-"; incremental_build_s="-"
if [[ -z "${BENCH_SKIP_COLD_BUILD:-}" ]]; then
    log "cold debug build in a scratch target dir (minutes)"
    cold_target="$scratch/cold-target"
    started=$(now)
    (cd "$project" && CARGO_TARGET_DIR=$cold_target cargo build --locked --quiet)
    cold_build_s=$(seconds_since "$started")
    started=$(now)
    (cd "$project" && CARGO_TARGET_DIR=$cold_target cargo build --locked --quiet)
    warm_build_s=$(seconds_since "$started")
    touch "$project/crates/adapter-http/src/items/get.rs"
    started=$(now)
    (cd "$project" && CARGO_TARGET_DIR=$cold_target cargo build --locked --quiet)
    incremental_build_s=$(seconds_since "$started")
    rm -rf "$cold_target"
    log "cold ${cold_build_s}s, warm ${warm_build_s}s, one handler touched ${incremental_build_s}s"
fi

log "release builds (service and baseline)"
(cd "$project" && cargo build --release --locked --quiet --bin bench-svc)
cargo build --release --locked --quiet --manifest-path "$repo/ci/bench/baseline/Cargo.toml"
binary="$CARGO_TARGET_DIR/release/bench-svc"
baseline_binary="$CARGO_TARGET_DIR/release/bench-baseline"
binary_mb=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / 1e6:.1f}')" "$binary")

# --- the service ----------------------------------------------------------------------------
database_url="${database_base%/*}/bench_svc"
service_pid=""
# start_service [extra env...]: starts the release binary, waits for /health/ready, and sets
# service_pid and ready_ms (spawn to the first 200 from readiness).
start_service() {
    local started_ms
    started_ms=$(date +%s%3N)
    (cd "$project" && exec env APP_ENV=local \
        APP__HTTP__HOST=127.0.0.1 APP__HTTP__PORT=$service_port \
        APP__DATABASE__URL="$database_url" APP__REDIS__URL="$REDIS_URL" \
        APP__RATE_LIMIT__ENABLED=false "$@" \
        "$binary" serve >"$scratch/service.log" 2>&1) &
    service_pid=$!
    pids+=("$service_pid")
    until curl -fs -o /dev/null "http://127.0.0.1:$service_port/health/ready"; do
        if ! kill -0 "$service_pid" 2>/dev/null; then
            tail -n 20 "$scratch/service.log" >&2
            echo "the service exited before it was ready" >&2
            exit 1
        fi
        sleep 0.005
    done
    ready_ms=$(( $(date +%s%3N) - started_ms ))
}
stop_service() {
    kill -TERM "$service_pid" 2>/dev/null || true
    while kill -0 "$service_pid" 2>/dev/null; do sleep 0.05; done
}
rss_mb() { awk -v key="$2" '$1 == key":" {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

psql_url="${database_base}"
psql "$psql_url" -qc "DROP DATABASE IF EXISTS bench_svc WITH (FORCE)" >/dev/null 2>&1 || true
log "first start: creates the database and applies the migrations"
start_service
first_ready_ms=$ready_ms
stop_service
log "second start: migrations already applied"
start_service
sleep 2
ready_ms_warm=$ready_ms
idle_rss_mb=$(rss_mb "$service_pid" VmRSS)
log "ready in ${ready_ms_warm} ms (first start ${first_ready_ms} ms), idle RSS ${idle_rss_mb} MB"

token() { (cd "$project" && APP_ENV=local "$binary" token --tenant "$1" --role "$2"); }
platform=$(token 0190f5d2-7e1c-7000-8000-0000000000aa platform-admin)
api="http://127.0.0.1:$service_port/api/v1"
tenant=$(curl -fs "$api/tenants" -H "authorization: Bearer $platform" -H 'content-type: application/json' \
    -d '{"name":"bench tenant"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
admin=$(token "$tenant" admin)
items="$api/tenants/$tenant/items"
log "seeding 1000 items"
item_url=""
for i in $(seq 1 1000); do
    location=$(curl -fs -o /dev/null -w '%header{location}' "$items" -H "authorization: Bearer $admin" \
        -H 'content-type: application/json' -d "{\"name\":\"seed $i\",\"description\":\"seeded for the list scenario\"}")
    [[ -n $item_url ]] || item_url="http://127.0.0.1:$service_port$location"
done
curl -fs "$item_url" -H "authorization: Bearer $admin" >"$scratch/item.json"
"$baseline_binary" $baseline_port "$scratch/item.json" >/dev/null &
pids+=($!)
until curl -fs -o /dev/null "http://127.0.0.1:$baseline_port/"; do sleep 0.01; done

# --- scenarios ------------------------------------------------------------------------------
# run_wrk <pid of the server> <method> <url> [token]: warm-up, reset the peak RSS, measure.
# Prints the WRK_JSON line with the server's peak RSS added.
run_wrk() {
    local pid=$1 method=$2 url=$3 bearer=${4:-}
    BENCH_METHOD=$method BENCH_TOKEN=$bearer wrk -t1 -c"$connections" -d"$warmup" \
        -s "$repo/ci/bench/wrk-report.lua" "$url" >/dev/null
    echo 5 >"/proc/$pid/clear_refs"
    local line
    line=$(BENCH_METHOD=$method BENCH_TOKEN=$bearer wrk -t1 -c"$connections" -d"$duration" \
        -s "$repo/ci/bench/wrk-report.lua" "$url" | sed -n 's/^WRK_JSON //p')
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["peak_rss_mb"]=float(sys.argv[2]); print(json.dumps(d))' \
        "$line" "$(rss_mb "$pid" VmHWM)"
}
metric() {
    curl -fs "http://127.0.0.1:$service_port/metrics" |
        awk -v want="$1" 'index($0, want) == 1 {sum += $NF} END {printf "%d\n", sum}'
}
results="$scratch/results.jsonl"
: >"$results"
record() { python3 -c 'import json,sys; d=json.loads(sys.argv[2]); d["scenario"]=sys.argv[1]; print(json.dumps(d))' "$1" "$2" >>"$results"; }

baseline_pid=${pids[-1]}
log "1: bare axum"
record baseline "$(run_wrk "$baseline_pid" GET "http://127.0.0.1:$baseline_port/")"
log "2: GET one item, cached"
hits_before=$(metric 'cache_requests_total{cache="items",backend="redis",result="hit"}')
misses_before=$(metric 'cache_requests_total{cache="items",backend="redis",result="miss"}')
record cached "$(run_wrk "$service_pid" GET "$item_url" "$admin")"
hits=$(( $(metric 'cache_requests_total{cache="items",backend="redis",result="hit"}') - hits_before ))
misses=$(( $(metric 'cache_requests_total{cache="items",backend="redis",result="miss"}') - misses_before ))
log "4: list, 20 per page"
record list "$(run_wrk "$service_pid" GET "$items?limit=20&sort=-createdAt" "$admin")"
log "5: POST create"
record create "$(run_wrk "$service_pid" POST "$items" "$admin")"

log "p99 of the cached read at half its throughput (hey, fixed rate)"
half_rps=$(python3 -c 'import json,sys; print(int(json.loads(open(sys.argv[1]).readlines()[1])["rps"] / 2))' "$results")
workers=16
hey_out=$(hey -z "$duration" -c $workers -q $(( half_rps / workers )) -H "authorization: Bearer $admin" "$item_url")
half_p99_ms=$(awk '/99% in/ {printf "%.3f", $3 * 1000}' <<<"$hey_out")
half_achieved=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$hey_out")

log "3: GET one item, cache cold (in-process cache of capacity 0: every read goes to PostgreSQL)"
stop_service
start_service APP__CACHE__BACKEND=memory APP__CACHE__MEMORY__CAPACITY=0
cold_misses_before=$(metric 'cache_requests_total{cache="items",backend="memory",result="miss"}')
record uncached "$(run_wrk "$service_pid" GET "$item_url" "$admin")"
cold_misses=$(( $(metric 'cache_requests_total{cache="items",backend="memory",result="miss"}') - cold_misses_before ))
cold_hits=$(metric 'cache_requests_total{cache="items",backend="memory",result="hit"}')
stop_service

# --- report ---------------------------------------------------------------------------------
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
memory_gb=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
python3 "$repo/ci/bench/report.py" "$results" "$output" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
  "machine": "$(nproc) cores ($cpu), ${memory_gb} GiB, $(uname -sr)",
  "rustc": "$(rustc --version)",
  "load": "wrk 4.1 -t1 -c$connections, warm-up $warmup then $duration, on loopback; client and server share the cores",
  "generation_s": "$generation_s",
  "cold_build_s": "$cold_build_s",
  "warm_build_s": "$warm_build_s",
  "incremental_build_s": "$incremental_build_s",
  "binary_mb": "$binary_mb",
  "first_ready_ms": $first_ready_ms,
  "ready_ms": $ready_ms_warm,
  "idle_rss_mb": $idle_rss_mb,
  "cached_hits": $hits,
  "cached_misses": $misses,
  "uncached_hits": $cold_hits,
  "uncached_misses": $cold_misses,
  "half_rate_target": $half_rps,
  "half_rate_achieved": ${half_achieved:-0},
  "half_rate_p99_ms": ${half_p99_ms:-0}
}
JSON
log "wrote $output"
