#!/bin/bash
# The decode + encode floor of the production scene, and how far our render node is above it,
# measured in one run on one machine (issue 19). For each of 1080p and 720p:
#   decode   decode-only of every video source (GStreamer's avdec_h264: the decoder our
#            pipeline uses), CPU-seconds
#   encode   x264 alone on the composed frames, read back from memory (/dev/shm) with the
#            settings our pipeline uses (veryfast, zerolatency, 4500k, GOP 60), CPU-seconds
#   ours     `render-node render --fast` on the same scene, CPU-seconds and wall fps
#   ffmpeg   ffmpeg's filter graph doing the same scene, CPU-seconds and wall fps
# and prints `render_overhead_vs_floor` = ours / (decode + encode) - 1.
#
# usage: render-node/bench/floor-bench.sh [FRAMES]   (default 300)
# env:   RENDER_NODE_BIN (default $CARGO_TARGET_DIR/release/render-node), RESOLUTIONS
#        ("1920x1080 1280x720"), SCENE_DIR (default a cache folder; media are generated once)
# needs: a release build (cargo build --release -p render-node), ffmpeg, gst-launch-1.0,
#        python3 with pillow
set -euo pipefail
N=${1:-300}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BIN=${RENDER_NODE_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/render-node}
RESOLUTIONS=${RESOLUTIONS:-"1920x1080 1280x720"}
SCENE_DIR=${SCENE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stream-manager/production-scene}
[ -x "$BIN" ] || { echo "no release binary at $BIN (cargo build --release -p render-node)" >&2; exit 1; }
export RUST_LOG=${RUST_LOG:-warn}
shm=$(mktemp -d /dev/shm/sm-floor.XXXXXX); trap 'rm -rf "$shm"' EXIT

# CPU-seconds (user + system, children included) and wall seconds of one command.
measure() { # outfile cmd...
  local out=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$out" "$@" >/dev/null 2>"$out.err" || { cat "$out.err" >&2; return 1; }
}
cpu() { awk '{printf "%.2f", $2 + $3}' "$1"; }
wall() { awk '{printf "%.2f", $1}' "$1"; }

for res in $RESOLUTIONS; do
  W=${res%x*} H=${res#*x}
  scene=$(bash "$here/production-scene.sh" "$SCENE_DIR" "$W" "$H" "$N")
  echo "== production scene ${W}x${H}, $N frames"

  # Decode only: both videos, the N frames the scene shows of each.
  for v in bg pip; do
    measure "$shm/dec-$v" gst-launch-1.0 -q filesrc location="$SCENE_DIR/$v.mp4" ! qtdemux ! h264parse \
      ! avdec_h264 ! identity eos-after="$N" ! fakesink sync=false
  done
  dec=$(python3 -c "print(f'{$(cpu "$shm/dec-bg") + $(cpu "$shm/dec-pip"):.2f}')")

  # The composed frames, once, as raw I420 in memory: ffmpeg's graph of the same scene.
  sx() { echo $(($1 * W / 1920)); }
  sy() { echo $(($1 * H / 1080)); }
  graph="[0:v]scale=${W}:${H}[bg];[1:v]scale=$(sx 640):$(sy 360)[pip];[bg][pip]overlay=$(sx 1240):$(sy 80)[a];\
[2:v]scale=$(sx 320):$(sy 160)[logo];[a][logo]overlay=$(sx 60):$(sy 60)[b];\
[b]drawbox=x=0:y=$(sy 860):w=${W}:h=$(sy 160):color=0x1E3A8A@0.75:t=fill,\
drawtext=text='Stream Manager Live':fontsize=$(sy 64):fontcolor=white:x=$(sx 80):y=$(sy 880),\
drawtext=text='Production scene benchmark':fontsize=$(sy 40):fontcolor=0xFFD166:x=$(sx 80):y=$(sy 960),format=yuv420p[v]"
  inputs=(-i "$SCENE_DIR/bg.mp4" -i "$SCENE_DIR/pip.mp4" -loop 1 -i "$SCENE_DIR/logo.png")
  ffmpeg -v error -y "${inputs[@]}" -filter_complex "$graph" -map "[v]" -frames:v "$N" \
    -f rawvideo -pix_fmt yuv420p "$shm/composed.yuv"

  # Encode only: x264 as our pipeline configures it (pipeline/encoder.rs).
  measure "$shm/enc" gst-launch-1.0 -q filesrc location="$shm/composed.yuv" \
    ! rawvideoparse width="$W" height="$H" format=i420 framerate=30/1 \
    ! x264enc speed-preset=veryfast tune=zerolatency bitrate=4500 key-int-max=60 ! fakesink sync=false
  rm -f "$shm/composed.yuv"
  enc=$(cpu "$shm/enc")

  # Ours, then ffmpeg's whole graph (decode + compose + encode) on the same scene.
  measure "$shm/ours" "$BIN" render --scene "$scene" --out null --frames "$N" --fast
  measure "$shm/ffmpeg" ffmpeg -v error -y "${inputs[@]}" -filter_complex "$graph" -map "[v]" \
    -frames:v "$N" -c:v libx264 -preset veryfast -tune zerolatency -b:v 4500k -g 60 -f flv /dev/null

  python3 - "$H" "$N" "$dec" "$enc" "$(cpu "$shm/ours")" "$(wall "$shm/ours")" \
    "$(cpu "$shm/ffmpeg")" "$(wall "$shm/ffmpeg")" "$(wall "$shm/enc")" <<'PY'
import sys
h, n = sys.argv[1], int(sys.argv[2])
dec, enc, ours, ours_wall, ff, ff_wall, enc_wall = map(float, sys.argv[3:])
floor = dec + enc
k = f"{h}p"
print(f"  decode {dec:.2f} CPU-s + encode {enc:.2f} CPU-s = floor {floor:.2f} CPU-s")
print(f"  ours   {ours:.2f} CPU-s, {n / ours_wall:.1f} fps   ({ours / floor - 1:+.1%} over the floor)")
print(f"  ffmpeg {ff:.2f} CPU-s, {n / ff_wall:.1f} fps   (ours {n / ours_wall / (n / ff_wall):.2f}x ffmpeg's fps)")
for name, v, unit in [
    ("render_overhead_vs_floor", ours / floor - 1, "x"),
    ("floor_decode_cpu_s", dec, "s"), ("floor_encode_cpu_s", enc, "s"),
    ("floor_encode_fps", n / enc_wall, "fps"),
    ("ours_cpu_s", ours, "s"), ("ours_fps", n / ours_wall, "fps"),
    ("ffmpeg_cpu_s", ff, "s"), ("ffmpeg_fps", n / ff_wall, "fps"),
    ("ratio_ffmpeg", ff_wall / ours_wall, "x"),
]:
    print(f"FIGURE prod_{k}_{name}={v:.3f} {unit}")
PY
done
