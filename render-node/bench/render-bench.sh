#!/bin/bash
# Renders the 8-layer scene of ../shared/bench/baseline.sh through our render node and runs
# baseline.sh itself in the same invocation, then prints every figure and our ratio to the
# baseline lines. Throughput runs have no clock (frames per second of wall time, process
# start-up included, as baseline.sh measures).
#
# usage: render-node/bench/render-bench.sh [FRAMES] [PRESET]   (default 300 veryfast)
# env:   BASELINE=path/to/baseline.sh (default: ../shared/bench/baseline.sh beside the repo)
#        REALTIME_SECONDS=60 (0 skips the real-time run), STREAMS_720=3 (0 skips)
#        STREAMS_720_MAX=0: when set, also finds how many 720p30 streams run at once in real
#        time (1, 2, … up to it; 15 s each) with no dropped frame
# Besides the human-readable lines, every figure is printed as `FIGURE name=value unit` for
# scripts/bench-report.sh.
# needs: a release build (cargo build --release -p render-node), python3 with pillow, ffmpeg
set -euo pipefail
N=${1:-300} PRESET=${2:-veryfast}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BASELINE=${BASELINE:-$repo/../shared/bench/baseline.sh}
BIN=${RENDER_NODE_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/render-node}
REALTIME_SECONDS=${REALTIME_SECONDS:-60}
STREAMS_720=${STREAMS_720:-3}
STREAMS_720_MAX=${STREAMS_720_MAX:-0}
[ -x "$BIN" ] || { echo "no release binary at $BIN (cargo build --release -p render-node)" >&2; exit 1; }
# Debian's python3 has pillow; a pyenv shim earlier on PATH may not.
PY=python3; /usr/bin/python3 -c 'import PIL' 2>/dev/null && PY=/usr/bin/python3
export RUST_LOG=${RUST_LOG:-warn}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT

"$PY" - "$dir" <<'PY'
import sys
from PIL import Image, ImageDraw
d = sys.argv[1]
for i, (rgba, size) in enumerate([((255, 80, 0, 200), (480, 270)), ((0, 200, 120, 160), (320, 320)), ((240, 240, 255, 230), (640, 120))]):
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(im).rounded_rectangle([0, 0, size[0] - 1, size[1] - 1], radius=24, fill=rgba)
    im.save(f"{d}/img{i}.png")
PY

scene() { # W H [BACKGROUND] -> scene file with baseline.sh's layers at baseline.sh's places
  local W=$1 H=$2 BG=${3:-ball} f="$dir/scene-$1x$2-${3:-ball}.json"
  cat >"$f" <<JSON
{"config": {"STREAM_RESOLUTION": "${W}x${H}", "TARGET_FPS": 30, "STREAM_BITRATE": "4500k"},
 "layers": [
  {"kind": "video", "source": {"uri": "testsrc://$BG"}, "size": {"width": $W, "height": $H}},
  {"kind": "image", "source": {"url": "img0.png"}, "position": {"x": 60, "y": 60}, "size": {"width": 480, "height": 270}},
  {"kind": "image", "source": {"url": "img1.png"}, "position": {"x": $((W-400)), "y": 80}, "size": {"width": 320, "height": 320}},
  {"kind": "image", "source": {"url": "img2.png"}, "position": {"x": $((W/2-320)), "y": $((H-200))}, "size": {"width": 640, "height": 120}},
  {"kind": "text", "source": {"text": "LIVE", "fontSize": 48}, "position": {"x": 40, "y": $((H-320))}, "size": {"width": 600, "height": 120}},
  {"kind": "text", "source": {"text": "Stream Manager", "fontSize": 48}, "position": {"x": $((W-700)), "y": $((H-320))}, "size": {"width": 640, "height": 120}},
  {"kind": "color", "source": {"color": "#CC3333"}, "position": {"x": $((W/2-200)), "y": $((H/2-112))}, "size": {"width": 400, "height": 225}, "opacity": 0.6},
  {"kind": "color", "source": {"color": "#3333CC"}, "position": {"x": $((W/2)), "y": $((H/2))}, "size": {"width": 400, "height": 225}, "opacity": 0.4}
 ]}
JSON
  echo "$f"
}

ours() { # name W H BACKGROUND extra-args… -> prints "name WxH frames= seconds= fps="
  local name=$1 W=$2 H=$3 BG=$4; shift 4
  local f t0 t1; f=$(scene "$W" "$H" "$BG")
  t0=$(date +%s.%N)
  "$BIN" render --scene "$f" --out null --frames "$N" --fast --quality 3 "$@" >/dev/null
  t1=$(date +%s.%N)
  "$PY" -c "s=$t1-$t0; print(f'$name ${W}x${H} frames=$N seconds={s:.2f} fps={$N/s:.1f}')"
}

declare -A fps
record() { echo "$1"; local k; k=$(echo "$1" | awk '{print $1" "$2}'); fps[$k]=$(echo "$1" | sed -n 's/.*fps=\([0-9.]*\).*/\1/p'); }

for res in "1920 1080" "1280 720"; do
  set -- $res
  record "$(ours render-node-composite-only "$1" "$2" ball --composite-only)"
  record "$(ours "render-node+x264-$PRESET" "$1" "$2" ball)"
  # ffmpeg's background (testsrc2) is far busier than the ball on black that baseline.sh's
  # GStreamer graph and ours use, so x264 works harder there; a scrolling SMPTE pattern
  # gives our node comparably busy content, for an honest comparison with the ffmpeg line.
  record "$(ours "render-node+x264-$PRESET-busy" "$1" "$2" "smpte?horizontal-speed=8")"
  while read -r line; do record "$line"; done < <(PATH="/usr/bin:$PATH" bash "$BASELINE" "$1" "$2" "$N" "$PRESET")
done

echo
echo "ratios (ours / baseline, same run):"
for r in 1920x1080 1280x720; do
  "$PY" - "$r" "${fps[render-node-composite-only $r]}" "${fps[gst-composite-only $r]}" \
    "${fps[render-node+x264-$PRESET $r]}" "${fps[gst-composite+x264-$PRESET $r]}" "${fps[ffmpeg-overlay+x264-$PRESET $r]}" \
    "${fps[render-node+x264-$PRESET-busy $r]}" <<'PY'
import sys
r, oc, gc, ox, gx, fx, bx = sys.argv[1], *map(float, sys.argv[2:])
print(f"  {r}: composite-only {oc/gc:.2f}x gst | +x264 {ox/gx:.2f}x gst, {ox/fx:.2f}x ffmpeg | busy background +x264 {bx/fx:.2f}x ffmpeg")
k = r.split("x")[1] + "p"
for name, v, unit in [("fps", ox, "fps"), ("gst_fps", gx, "fps"), ("ffmpeg_fps", fx, "fps"),
                      ("ratio_gst", ox / gx, "x"), ("ratio_ffmpeg", ox / fx, "x"),
                      ("composite_ratio_gst", oc / gc, "x"), ("busy_ratio_ffmpeg", bx / fx, "x")]:
    print(f"FIGURE render_{k}_{name}={v:.2f} {unit}")
PY
done

if [ "$REALTIME_SECONDS" != 0 ]; then
  echo
  echo "real time, ${REALTIME_SECONDS}s at 1920x1080 30 fps $PRESET:"
  f=$(scene 1920 1080)
  line=$("$BIN" render --scene "$f" --out null --seconds "$REALTIME_SECONDS" --quality 3)
  echo "  $line"
  field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
  echo "FIGURE realtime_1080p_dropped=$(field dropped "$line") frames"
  echo "FIGURE realtime_1080p_cpu=$(field cpu "$line") %"
  echo "FIGURE realtime_1080p_rss=$(field rss_mb "$line") MB"
fi

if [ "$STREAMS_720" != 0 ]; then
  echo
  echo "$STREAMS_720 streams at once, 1280x720 30 fps $PRESET, 20 s each, real time:"
  f=$(scene 1280 720)
  pids=()
  for i in $(seq "$STREAMS_720"); do
    "$BIN" render --scene "$f" --out null --seconds 20 --quality 3 >"$dir/s$i.txt" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for i in $(seq "$STREAMS_720"); do sed "s/^/  stream $i: /" "$dir/s$i.txt"; done
  awk -v n="$STREAMS_720" '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] += kv[2] + 0}}
    END {printf "FIGURE streams720_rss_per_stream=%.0f MB\nFIGURE streams720_cpu_per_stream=%.0f %%\nFIGURE streams720_dropped=%d frames\n", v["rss_mb"] / n, v["cpu"] / n, v["dropped"]}' \
    "$dir"/s*.txt
fi

if [ "$STREAMS_720_MAX" != 0 ]; then
  echo
  echo "720p30 streams in real time at once (15 s each, one render process per stream):"
  f=$(scene 1280 720)
  best=0
  for n in $(seq "$STREAMS_720_MAX"); do
    pids=()
    for i in $(seq "$n"); do
      "$BIN" render --scene "$f" --out null --seconds 15 --quality 3 >"$dir/m$i.txt" & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    # Real time: nothing dropped and every stream kept 30 fps from its first frame on
    # (live_fps: start-up, which grows when processes start together, is not rendering).
    ok=$(cat "$dir"/m*.txt | awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); if (kv[1] == "dropped" && kv[2] > 0) bad = 1; if (kv[1] == "live_fps" && kv[2] < 29.5) bad = 1}} END {print bad ? 0 : 1}')
    echo "  $n at once: $(cat "$dir"/m*.txt | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(live_fps|dropped|cpu)=/) printf "%s ", $i; printf "| "}')$( ((ok)) && echo real time || echo NOT real time)"
    rm -f "$dir"/m*.txt
    ((ok)) || break
    best=$n
  done
  echo "FIGURE streams720_realtime_per_node=$best streams"
fi
