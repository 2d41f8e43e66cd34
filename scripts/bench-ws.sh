#!/usr/bin/env bash
# WebSocket fan-out: a release control plane with 1,000 idle and 100 active sockets
# (BENCH_IDLE, BENCH_ACTIVE); prints its memory and the change -> event latency.
# Usage: bash scripts/bench-ws.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
bash scripts/install-deps.sh >/dev/null
bash scripts/services.sh
ulimit -n 8192
cargo build -q --release -p control-plane
export CONTROL_PLANE_BIN="$CARGO_TARGET_DIR/release/control-plane"
cargo nextest run -p stream-manager-tests --run-ignored only -E 'test(bench_websockets)' --no-capture 2>&1 \
  | grep -E '^(\||FIGURE )'
