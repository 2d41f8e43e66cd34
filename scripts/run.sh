#!/usr/bin/env bash
# The run command: brings up a local stack (Postgres, Redis and RabbitMQ from the machine's
# packages when absent), builds and starts the control plane, waits until it is ready and
# shows how to make a first call. Ctrl-C stops it. Usage: bash scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
state_dir="${XDG_STATE_HOME:-$HOME/.local/state}/stream-manager"
mkdir -p "$state_dir"

bash scripts/install-deps.sh
bash scripts/services.sh

# A stable local secret, so tokens keep working across restarts of the local stack.
if [ ! -s "$state_dir/jwt-secret" ]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state_dir/jwt-secret"
fi
export JWT_SECRET="$(cat "$state_dir/jwt-secret")"
export HTTP_ADDR="${HTTP_ADDR:-127.0.0.1:8080}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stream_manager}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
# The local stack pushes to and reads from this machine.
export ALLOW_PRIVATE_MEDIA_URLS="${ALLOW_PRIVATE_MEDIA_URLS:-true}"
export RUST_LOG="${RUST_LOG:-info}"

db_name="${DATABASE_URL##*/}"; db_name="${db_name%%\?*}"
psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1 \
  || psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db_name\""

echo "building the control plane (first build takes a few minutes on two cores)"
cargo build --release -p control-plane
bin="$CARGO_TARGET_DIR/release/control-plane"

"$bin" &
cp_pid=$!
trap 'kill $cp_pid 2>/dev/null; wait $cp_pid 2>/dev/null' EXIT INT TERM

for _ in $(seq 1 60); do
  curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null 2>&1 && break
  kill -0 $cp_pid 2>/dev/null || { echo "the control plane exited; see the log above" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null || { echo "the control plane is not ready" >&2; exit 1; }

token="$(JWT_SECRET="$JWT_SECRET" "$bin" token --tenant demo --ttl 12h)"
cat <<MSG

Stream Manager control plane is ready on http://$HTTP_ADDR  (Ctrl-C stops it)

A token for tenant "demo" (12 h):
  export TOKEN=$token
More tokens:
  JWT_SECRET=\$(cat $state_dir/jwt-secret) $bin token --tenant demo --ttl 1h

First calls:
  curl -s -H "Authorization: Bearer \$TOKEN" http://$HTTP_ADDR/stream/status
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"kind":"color","source":{"color":"#1E90FF"},"size":{"width":640,"height":360}}' \\
       http://$HTTP_ADDR/stream/layers
  curl -s -X POST -H "Authorization: Bearer \$TOKEN" http://$HTTP_ADDR/stream/start
API description: http://$HTTP_ADDR/openapi.json   Metrics: http://$HTTP_ADDR/metrics
MSG
wait $cp_pid
