#!/bin/bash
# What stream isolation (STREAM_ISOLATION=process) costs per stream: the same N live streams
# (a 1280x720 30 fps scene: moving video, text, colour boxes, encoded, no destination) run
# in one process, then each in its own `render-node stream-child` process, in one run; CPU
# (% of one core) and memory (RSS, and PSS, which shares library pages out fairly) per
# stream for both, and the difference.
#
# usage: render-node/bench/isolation-bench.sh [STREAMS] [SECONDS]   (default 3 20)
# needs: release builds: cargo build --release -p render-node --example isolation_cost
#        (PROFILE=debug uses the debug ones: slower rendering, the process overhead alike)
# Prints `FIGURE name=value unit` lines (isolation_cost_cpu_per_stream, …_rss_…, …_pss_…).
set -euo pipefail
N=${1:-3} S=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${CARGO_TARGET_DIR:-$repo/target}/${PROFILE:-release}
BIN=${RENDER_NODE_BIN:-$out/render-node}
BENCH=$out/examples/isolation_cost
for b in "$BIN" "$BENCH"; do
  [ -x "$b" ] || { echo "no release binary at $b (cargo build --release -p render-node --example isolation_cost)" >&2; exit 1; }
done
export RUST_LOG=${RUST_LOG:-warn}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cat >"$dir/scene.json" <<'JSON'
{"config": {"STREAM_RESOLUTION": "1280x720", "TARGET_FPS": 30, "STREAM_BITRATE": "2500k", "RENDER_QUALITY": 3},
 "layers": [
  {"kind": "video", "source": {"uri": "testsrc://ball"}, "size": {"width": 1280, "height": 720}},
  {"kind": "text", "source": {"text": "LIVE", "fontSize": 48}, "position": {"x": 40, "y": 400}, "size": {"width": 600, "height": 120}},
  {"kind": "color", "source": {"color": "#CC3333"}, "position": {"x": 440, "y": 248}, "size": {"width": 400, "height": 225}, "opacity": 0.6}
 ]}
JSON
MEDIA_ROOT=$dir "$BENCH" "$dir/scene.json" "$N" "$S" "$BIN"
