#!/usr/bin/env bash
# End-to-end test of the dashboard in headless Chromium: builds the control plane and the
# render node, gives the control plane a fresh database and namespace, serves it on a free
# port next to one render node (NODE_CAPACITY=1: it runs the stream the test starts, so the
# status, metrics, events and preview the page shows are a real node's, and it takes RTMP
# publishes), and drives the page with playwright-core (tests/e2e/dashboard.test.mjs);
# ffmpeg publishes to the node. Screenshots and the logs go to
# ${ARTIFACTS_DIR:-artifacts}/e2e/. Expects Postgres, Redis and RabbitMQ running
# (scripts/services.sh) and chromium + node + ffmpeg installed (scripts/install-deps.sh).
# Usage: bash tests/e2e/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
artifacts="${ARTIFACTS_DIR:-artifacts}"
case "$artifacts" in /*) ;; *) artifacts="$root/$artifacts" ;; esac
out="$artifacts/e2e"
mkdir -p "$out"
rm -f "$out"/*.png

say() { printf 'e2e: %s\n' "$*"; }
fail() { say "$*" >&2; echo "e2e: 0 passed, 1 failed"; exit 1; }

chromium_bin="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium_bin" ] || fail "no $chromium_bin: install Debian's chromium (bash scripts/install-deps.sh)"
command -v node >/dev/null || fail "no node: install nodejs (bash scripts/install-deps.sh)"
command -v ffmpeg >/dev/null || fail "no ffmpeg: install it (bash scripts/install-deps.sh)"
if ! command -v npm >/dev/null; then
  # Debian's nodejs ships without npm; NodeSource's includes it (and conflicts with the package).
  say "installing npm"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# playwright-core from the lock file; reinstalled only when the lock file changes. It ships
# no browser and none is downloaded: Debian's chromium is used.
stamp="tests/e2e/node_modules/.lock-sha256"
want="$(sha256sum tests/e2e/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci"
  (cd tests/e2e && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
  echo "$want" >"$stamp"
fi

say "building the control plane and the render node"
cargo build -q -p control-plane -p render-node || fail "the control plane or the render node does not build"
bin="$CARGO_TARGET_DIR/debug/control-plane"
node_bin="$CARGO_TARGET_DIR/debug/render-node"

suffix="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
admin="${E2E_ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
db="sm_e2e_$suffix"
pid=""
node_pid=""
# stop PID: SIGTERM, up to 10 s, then SIGKILL.
stop() {
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  local code=$?
  [ -n "$node_pid" ] && stop "$node_pid"
  [ -n "$pid" ] && stop "$pid"
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || say "could not drop database $db"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql "$admin" -qc "CREATE DATABASE $db" >/dev/null || fail "cannot create database $db at $admin (is Postgres running? bash scripts/services.sh)"
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
ingest_port="$(free_port)"

export JWT_SECRET="e2e-secret-$suffix-0123456789abcdef"
export DATABASE_URL="${admin%/*}/$db"
export SM_NAMESPACE="e2e-$suffix."
export ALLOW_PRIVATE_MEDIA_URLS=true
export HTTP_ADDR="127.0.0.1:$port"
export RUST_LOG="${E2E_RUST_LOG:-info}"
# The render node's internal API, and what new keys' ingestUrl says: the one node's RTMP
# port stands in for the fleet's load balancer.
export NODE_SECRET="e2e-node-secret-$suffix"
export INGEST_URL="rtmp://127.0.0.1:$ingest_port/live"
"$bin" >"$out/control-plane.log" 2>&1 &
pid=$!

# wait_for WHAT PID LOG SECONDS CMD...: runs CMD every 0.5 s until it succeeds, failing when
# PID exits first or SECONDS pass (with the end of LOG).
wait_for() {
  local what="$1" pid="$2" log="$3" seconds="$4"
  shift 4
  for _ in $(seq 1 $((seconds * 2))); do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$log" >&2; fail "$what exited"; }
    "$@" && return 0
    sleep 0.5
  done
  tail -n 30 "$log" >&2
  fail "$what was not ready within $seconds s"
}

say "waiting for the control plane on $HTTP_ADDR"
wait_for "the control plane" "$pid" "$out/control-plane.log" 120 \
  node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "http://$HTTP_ADDR/readyz"

node_id="e2e-node-$suffix"
say "starting render node $node_id (RTMP ingest on 127.0.0.1:$ingest_port)"
NODE_ID="$node_id" NODE_CAPACITY=1 CONTROL_PLANE_URL="http://$HTTP_ADDR" \
  METRICS_ADDR="127.0.0.1:$(free_port)" RTSP_ADDR="127.0.0.1:$(free_port)" \
  INGEST_ADDR="127.0.0.1:$ingest_port" RUST_LOG="${E2E_NODE_LOG:-info}" \
  "$node_bin" serve >"$out/render-node.log" 2>&1 &
node_pid=$!
wait_for "the render node" "$node_pid" "$out/render-node.log" 60 \
  grep -qs "rtmp ingest listening" "$out/render-node.log"

token="$("$bin" token --tenant e2e)"

BASE_URL="http://$HTTP_ADDR" E2E_TOKEN="$token" E2E_OUT="$out" CHROMIUM="$chromium_bin" E2E_INGEST_URL="$INGEST_URL" E2E_NODE_ID="$node_id" \
  EVENTS_CHANNEL="${SM_NAMESPACE}sm:events:e2e" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" \
  node tests/e2e/dashboard.test.mjs
