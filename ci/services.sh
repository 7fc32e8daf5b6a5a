#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis, RabbitMQ and NATS answer on the addresses the generated tests use. Starts the
# machine's own servers when they are installed but stopped; otherwise says how to start them.
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

host_port() { # host and port from a URL like scheme://user:pass@host:port/db
    local rest=${1#*://}
    rest=${rest#*@}
    rest=${rest%%/*}
    echo "${rest%%:*} ${rest##*:}"
}

read -r pg_host pg_port <<<"$(host_port "${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}")"
read -r redis_host redis_port <<<"$(host_port "${REDIS_URL:-redis://127.0.0.1:6379}")"
read -r amqp_host amqp_port <<<"$(host_port "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}")"
read -r nats_host nats_port <<<"$(host_port "${NATS_URL:-nats://127.0.0.1:4222}")"
missing=0

if ! answers "$pg_host" "$pg_port"; then
    if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
        echo "PostgreSQL is down; starting the local cluster"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
        for _ in $(seq 20); do answers "$pg_host" "$pg_port" && break; sleep 0.5; done
    fi
fi
if answers "$pg_host" "$pg_port"; then
    echo "PostgreSQL answers on $pg_host:$pg_port"
else
    echo "PostgreSQL does not answer on $pg_host:$pg_port."
    echo "  Start it: 'docker compose up -d postgres' in a generated project, or set DATABASE_URL."
    missing=1
fi

if ! answers "$redis_host" "$redis_port"; then
    if command -v redis-server >/dev/null; then
        echo "Redis is down; starting a local server"
        mkdir -p /tmp/redis-harness
        redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" \
            --appendonly no --dir /tmp/redis-harness --logfile /tmp/redis-harness/redis.log
        for _ in $(seq 20); do answers "$redis_host" "$redis_port" && break; sleep 0.5; done
    fi
fi
if answers "$redis_host" "$redis_port"; then
    echo "Redis answers on $redis_host:$redis_port"
else
    echo "Redis does not answer on $redis_host:$redis_port."
    echo "  Start it: 'docker compose up -d redis' in a generated project, or set REDIS_URL."
    missing=1
fi
# RabbitMQ: the variants generated with messaging=rabbitmq test against it.
if ! answers "$amqp_host" "$amqp_port"; then
    if command -v rabbitmq-server >/dev/null; then
        echo "RabbitMQ is down; starting the local server"
        rabbitmq-server -detached >/dev/null 2>&1
        for _ in $(seq 60); do answers "$amqp_host" "$amqp_port" && break; sleep 1; done
    fi
fi
if answers "$amqp_host" "$amqp_port"; then
    echo "RabbitMQ answers on $amqp_host:$amqp_port"
else
    echo "RabbitMQ does not answer on $amqp_host:$amqp_port."
    echo "  Start it: 'docker compose up -d rabbitmq' in a generated project with messaging=rabbitmq,"
    echo "  or set AMQP_URL (amqp://user:password@host:port/vhost)."
    missing=1
fi
# NATS with JetStream: the variants generated with messaging=nats test against it.
if ! answers "$nats_host" "$nats_port"; then
    if command -v nats-server >/dev/null; then
        echo "NATS is down; starting a local server with JetStream"
        mkdir -p /tmp/nats-harness
        nats-server -js -sd /tmp/nats-harness -a "$nats_host" -p "$nats_port" >/tmp/nats-harness/nats.log 2>&1 &
        for _ in $(seq 20); do answers "$nats_host" "$nats_port" && break; sleep 0.5; done
    fi
fi
if answers "$nats_host" "$nats_port"; then
    echo "NATS answers on $nats_host:$nats_port"
else
    echo "NATS does not answer on $nats_host:$nats_port."
    echo "  Start it: 'docker compose up -d nats' in a generated project with messaging=nats,"
    echo "  or set NATS_URL (nats://host:port; JetStream enabled)."
    missing=1
fi
exit $missing
