#!/usr/bin/env bash
# The soak on the local services: one live stream for SECONDS (default 1800) with a layer
# change through the API every second, a render node process and an RTMP receiver logging
# every packet. Prints the node's RSS and open descriptors over time with their fitted slopes
# (a slope past SOAK_RSS_LIMIT_MIB_PER_HOUR, default 16, or growing descriptors fail it) and
# the audio/video offset and drift at the receiver (SOAK_AV_BOUND_MS, default 200, fails it;
# the target is 40). Usage: bash scripts/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECONDS="${1:-1800}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
bash scripts/install-deps.sh >/dev/null
bash scripts/services.sh
cargo build -q --locked -p render-node
# nextest's default slow-test timeout would not end it; the soak ends itself after SECONDS.
cargo nextest run -p stream-manager-tests --locked --run-ignored only -E 'test(soak_)' --no-capture
