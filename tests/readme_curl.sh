#!/usr/bin/env bash
# A README's example API lines, run as a new user runs them: against a freshly generated
# service started with no database or Redis URL (the embedded default), from the project
# folder. Usage: readme_curl.sh <README.md> <binary name> [<line that introduces the block>]
# The block is the first ```sh block after that line (default: "Then, in another terminal",
# the template README's; the harness also runs the generated README's "Try the example").
# Run in the generated project's folder, after `cargo build`. Fails unless the service answers
# ready on SQLite only, creates the tenant and the item (201) and lists it back.
set -euo pipefail

readme=$1
binary=$2
marker=${3:-Then, in another terminal}
target=${CARGO_TARGET_DIR:-$PWD/target}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The ```sh block that follows the marker line in the README, minus its `cd`.
script=$(awk -v marker="$marker" 'index($0, marker) == 1 {armed = 1} armed && /^```sh$/ {inside = 1; next}
              inside && /^```$/ {exit} inside' "$readme" | grep -v '^cd ' | sed "s/localhost:8080/localhost:$port/g")
[[ -n $script ]] || { echo "no example block found in $readme"; exit 1; }

rm -rf data
# Nothing from the caller's environment reaches the service: no APP__* URL of any server.
env -i PATH="$PATH" HOME="$HOME" APP_ENV=local APP__HTTP__PORT="$port" APP__TELEMETRY__LOG_FORMAT=json \
    "$target/debug/$binary" serve >service.log 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -sf "localhost:$port/health/live" >/dev/null && break
    sleep 0.1
done

echo "== running the README's lines (port $port)"
printf '%s\n' "$script"
output=$(env -i PATH="$PATH" HOME="$HOME" CARGO_TARGET_DIR="$target" APP_ENV=local bash -euo pipefail -c "$script" 2>&1)
printf '%s\n' "$output"
# Whether or not the block asks, the service must be ready on SQLite alone.
grep -q 'health/ready' <<<"$script" || output+=$'\n'$(curl -s "localhost:$port/health/ready")

status=0
check() { # <what> <grep -E pattern>
    if grep -qE -- "$2" <<<"$output"; then echo "ok: $1"; else echo "MISSING: $1 ($2)"; status=1; fi
}
check "ready on the embedded SQLite file" '"status":"ready".*"sqlite":\{"status":"up"'
check "no PostgreSQL or Redis probed" '"checks":\{"sqlite":\{[^}]*\}\}'
check "the item was created" 'HTTP/1.1 201 Created'
check "the list shows it" '"name":"Desk lamp"'
db=$(ls data/*.db 2>/dev/null || true)
if [[ -n $db ]]; then echo "ok: $db was created"; else echo "MISSING: data/*.db"; status=1; fi

kill -TERM "$service"
if wait "$service"; then echo "ok: stopped cleanly on SIGTERM"; else echo "FAIL: exit status $?"; status=1; fi
trap - EXIT
exit $status
