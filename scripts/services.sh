#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on their default local ports, starting the
# machine's own services when they do not. Set DATABASE_URL/REDIS_URL/AMQP_URL to use others.
set -euo pipefail

answers() { timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }

wait_for() { # name port seconds
  for _ in $(seq 1 "$3"); do answers "$2" && return 0; sleep 1; done
  echo "$1 did not come up on port $2" >&2
  return 1
}

if [ -z "${DATABASE_URL:-}" ] && ! answers 5432; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for postgresql 5432 30
  # Local trust auth for the loopback, as the tests connect as postgres without a password.
  su postgres -c "psql -qc \"ALTER USER postgres PASSWORD NULL\"" >/dev/null 2>&1 || true
fi
if [ -z "${REDIS_URL:-}" ] && ! answers 6379; then
  echo "starting redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/stream-manager.log
  wait_for redis 6379 15
fi
if [ -z "${AMQP_URL:-}" ] && ! answers 5672; then
  echo "starting rabbitmq"
  # Every quorum queue holds file descriptors: the default 1024 runs out with a few hundred
  # queues, and then the broker stops accepting connections. Debian's wrapper starts the
  # server through `su`, which resets the limit, so raise it inside the server's own shell.
  if [ "$(id -u)" = 0 ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && id rabbitmq >/dev/null 2>&1; then
    su rabbitmq -s /bin/sh -c "ulimit -n $(ulimit -Hn); cd /var/lib/rabbitmq && /usr/lib/rabbitmq/bin/rabbitmq-server -detached"
  else
    rabbitmq-server -detached
  fi
  wait_for rabbitmq 5672 60
fi
if [ -z "${DATABASE_URL:-}" ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
fi
