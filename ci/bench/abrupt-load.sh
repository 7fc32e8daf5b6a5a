#!/usr/bin/env bash
# A load run cut off abruptly, then a write, then reads: every read after the write must return
# the written value (issue 26: a client that disconnects mid-read must leave nothing behind).
# wrk ends a run by dropping its in-flight connections, as clients, proxies and load balancers do.
#
# Usage: ci/bench/abrupt-load.sh <release binary> <generated project dir> <postgres|sqlite>
#   postgres: PostgreSQL and Redis on localhost (a scratch database is created and dropped)
#   sqlite:   the embedded default, no Redis
# Prints wrk's totals, the write's status, and how many of 20 later reads were stale.
set -euo pipefail
bin=$1
project=$2
store=$3
port=18$((RANDOM % 900 + 100))
export APP_ENV=local APP__HTTP__HOST=127.0.0.1 APP__HTTP__PORT=$port APP__RATE_LIMIT__ENABLED=false \
    APP__TELEMETRY__LOG_FILTER=error APP__CACHE__REDIS__TTL_SECS=1 APP__CACHE__MEMORY__TTL_SECS=1
database=''
if [[ $store == postgres ]]; then
    database=abrupt_load_$RANDOM
    export APP__DATABASE__URL=postgres://postgres:postgres@127.0.0.1:5432/$database
    export APP__REDIS__URL=redis://127.0.0.1:6379
else
    scratch=$(mktemp -d)
    export APP__DATABASE__URL='' APP__REDIS__URL='' APP__SQLITE__PATH=$scratch/abrupt.db
fi
cd "$project"
"$bin" serve >"${TMPDIR:-/tmp}/abrupt-load.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [[ -n $database ]]; then
        psql -h 127.0.0.1 -U postgres -qc "drop database if exists $database" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
for _ in $(seq 100); do
    curl -sf "localhost:$port/health/ready" >/dev/null && break
    sleep 0.1
done
platform=$("$bin" token --tenant 0190f5d2-7e1c-7000-8000-000000000001 --role platform-admin)
tenant=$(curl -s "localhost:$port/api/v1/tenants" -H "authorization: Bearer $platform" \
    -H 'content-type: application/json' -d '{"name":"Acme"}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
token=$("$bin" token --tenant "$tenant" --role admin)
location=$(curl -si "localhost:$port/api/v1/tenants/$tenant/items" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"name":"Desk lamp"}' | tr -d '\r' | sed -n 's/^location: //p')
echo "item $location"
wrk -t2 -c64 -d6s -H "authorization: Bearer $token" "http://127.0.0.1:$port$location" |
    sed -n '/Requests\/sec/p;/Non-2xx/p;/requests in/p'
etag=$(curl -si "localhost:$port$location" -H "authorization: Bearer $token" | tr -d '\r' | sed -n 's/^etag: //p')
curl -s -o /dev/null -w "patch %{http_code}\n" -X PATCH "localhost:$port$location" \
    -H "authorization: Bearer $token" -H "if-match: $etag" -H 'content-type: application/json' \
    -d '{"name":"Desk lamp, renamed"}'
stale=0
for _ in $(seq 20); do
    sleep 0.3
    name=$(curl -s "localhost:$port$location" -H "authorization: Bearer $token" | sed 's/.*"name":"\([^"]*\)".*/\1/')
    [[ $name == "Desk lamp, renamed" ]] || stale=$((stale + 1))
done
ready=$(curl -s -o /dev/null -w '%{http_code}' "localhost:$port/health/ready")
echo "reads after the write: 20, stale: $stale; ready: $ready"
[[ $stale -eq 0 && $ready == 200 ]]
