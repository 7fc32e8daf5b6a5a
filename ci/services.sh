#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis, RabbitMQ and NATS answer on the addresses the generated tests
# use. Starts the machine's own servers when they are installed but stopped; otherwise says how
# to start them.
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

host_port() { # host and port from a URL like scheme://user:pass@host:port/db
    local rest=${1#*://}
    rest=${rest#*@}
    rest=${rest%%/*}
    echo "${rest%%:*} ${rest##*:}"
}

missing=0

# ensure <name> <url> <seconds to wait> <how to start it, or ""> <hint when it stays down>
ensure() {
    local name=$1 url=$2 wait=$3 start=$4 hint=$5 host port
    read -r host port <<<"$(host_port "$url")"
    if ! answers "$host" "$port" && [[ -n $start ]]; then
        echo "$name is down; starting the local server"
        HOST=$host PORT=$port bash -c "$start"
        for _ in $(seq "$wait"); do answers "$host" "$port" && break; sleep 1; done
    fi
    if answers "$host" "$port"; then
        echo "$name answers on $host:$port"
    else
        echo "$name does not answer on $host:$port."
        echo "  Start it: $hint"
        missing=1
    fi
}

start_postgres=""
if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    # shellcheck disable=SC2016 # expanded by the inner shell
    start_postgres='pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start'
fi
start_redis=""
if command -v redis-server >/dev/null; then
    # shellcheck disable=SC2016
    start_redis='mkdir -p /tmp/redis-harness && redis-server --daemonize yes --bind 127.0.0.1 --port "$PORT" --save "" --appendonly no --dir /tmp/redis-harness --logfile /tmp/redis-harness/redis.log'
fi
start_rabbitmq=""
if command -v rabbitmq-server >/dev/null; then
    start_rabbitmq='rabbitmq-server -detached >/dev/null 2>&1'
fi
start_nats=""
if command -v nats-server >/dev/null; then
    # shellcheck disable=SC2016
    start_nats='mkdir -p /tmp/nats-harness && (nats-server -js -sd /tmp/nats-harness -a "$HOST" -p "$PORT" >/tmp/nats-harness/nats.log 2>&1 &)'
fi

ensure PostgreSQL "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" 10 "$start_postgres" \
    "'docker compose up -d postgres' in a generated project, or set DATABASE_URL."
ensure Redis "${REDIS_URL:-redis://127.0.0.1:6379}" 10 "$start_redis" \
    "'docker compose up -d redis' in a generated project, or set REDIS_URL."
# The variants generated with messaging=rabbitmq or messaging=nats test against these two.
ensure RabbitMQ "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}" 60 "$start_rabbitmq" \
    "'docker compose up -d rabbitmq' in a project generated with messaging=rabbitmq, or set AMQP_URL (amqp://user:password@host:port/vhost)."
ensure NATS "${NATS_URL:-nats://127.0.0.1:4222}" 10 "$start_nats" \
    "'docker compose up -d nats' in a project generated with messaging=nats, or set NATS_URL (nats://host:port, JetStream enabled)."
exit $missing
