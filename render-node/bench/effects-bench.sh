#!/bin/bash
# What layer effects cost on a moving 1080p layer, per frame, through the real compositor
# (no decoder, no encoder: only what the effect adds to composing): a full-canvas moving
# layer composed FRAMES times with no effect, then with each effect alone, then with a
# keyed-card chain (chroma key, corner radius, border); and a static 1080p layer with the
# same chain, baked once then only blended.
#
# usage: render-node/bench/effects-bench.sh [FRAMES]   (default 120)
# needs: a release build: cargo build --release -p render-node --example effects_cost
# Prints `FIGURE effect_<name>_1080p_ms=… ms/frame` (compose time with the effect) and
# `FIGURE effect_<name>_1080p_cost_ms=… ms/frame` (minus the no-effect compose time), and
# `effect_static_keyed_card_1080p_bake_ms` / `…_frame_ms`.
set -euo pipefail
N=${1:-120}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BENCH=${CARGO_TARGET_DIR:-$repo/target}/${PROFILE:-release}/examples/effects_cost
[ -x "$BENCH" ] || { echo "no release binary at $BENCH (cargo build --release -p render-node --example effects_cost)" >&2; exit 1; }
"$BENCH" "$N"
