#!/usr/bin/env bash
# Dispatch figures on the local services: one control plane, two render node processes and
# ffmpeg RTMP receivers behind a timing TCP relay. Prints each stage of start -> first
# decoded frame (p50/p95 over BENCH_STARTS starts, default 20, plus a few with ffmpeg's
# default probing), of layer change -> visible in decoded output, and the failover time
# after SIGKILL. Usage: bash scripts/bench-dispatch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
bash scripts/install-deps.sh >/dev/null
bash scripts/services.sh
cargo build -q -p render-node
cargo nextest run -p stream-manager-tests --run-ignored only -E 'test(bench_dispatch)' --no-capture 2>&1 \
  | grep -E '^(\||FIGURE )'
