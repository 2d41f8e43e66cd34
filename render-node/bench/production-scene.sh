#!/bin/bash
# Generates the production scene the floor benchmark measures, into DIR (made if missing):
# media made by ffmpeg and pillow on the spot (no binary blobs in the repository) and a scene
# file for `render-node render`.
#
# usage: render-node/bench/production-scene.sh DIR WIDTH HEIGHT [FRAMES]
#   DIR/bg.mp4       a noisy, moving 1920x1080 H.264 video (the background)
#   DIR/pip.mp4      a 1280x720 H.264 video, shown as a picture-in-picture
#   DIR/logo.png     a logo with alpha
#   DIR/scene-WxH.json  background + PiP + logo + translucent lower third + two texts
# Media are kept between runs (same FRAMES): only the scene file is rewritten.
set -euo pipefail
DIR=$1 W=$2 H=$3 N=${4:-300}
mkdir -p "$DIR"
PY=python3; /usr/bin/python3 -c 'import PIL' 2>/dev/null && PY=/usr/bin/python3
secs=$(((N + 29) / 30 + 1))

# Noise that changes every frame (allf=t) over a moving pattern: x264 and the decoder both
# work as on camera footage, not on flat test colours. High bitrate so decoding is realistic.
if [ ! -s "$DIR/bg.mp4" ] || [ "$(cat "$DIR/frames" 2>/dev/null)" != "$N" ]; then
  ffmpeg -v error -y -f lavfi -i "testsrc2=s=1920x1080:r=30:d=$secs,noise=alls=24:allf=t+u" \
    -c:v libx264 -preset veryfast -b:v 8M -g 60 -pix_fmt yuv420p "$DIR/bg.mp4"
  ffmpeg -v error -y -f lavfi -i "smptehdbars=s=1280x720:r=30:d=$secs,scroll=h=0.002,noise=alls=12:allf=t" \
    -c:v libx264 -preset veryfast -b:v 4M -g 60 -pix_fmt yuv420p "$DIR/pip.mp4"
  "$PY" - "$DIR" <<'PY'
import sys
from PIL import Image, ImageDraw
d = sys.argv[1]
im = Image.new("RGBA", (320, 160), (0, 0, 0, 0))
dr = ImageDraw.Draw(im)
dr.rounded_rectangle([0, 0, 319, 159], radius=32, fill=(230, 40, 60, 220))
dr.ellipse([20, 20, 140, 140], fill=(255, 255, 255, 255))
im.save(f"{d}/logo.png")
PY
  echo "$N" >"$DIR/frames"
fi

# Places scale with the canvas: the same layout at 1080p and 720p.
s() { echo $(($1 * W / 1920)); }
t() { echo $(($1 * H / 1080)); }
cat >"$DIR/scene-${W}x${H}.json" <<JSON
{"config": {"STREAM_RESOLUTION": "${W}x${H}", "TARGET_FPS": 30, "STREAM_BITRATE": "4500k", "RENDER_QUALITY": 3},
 "layers": [
  {"name": "background", "kind": "video", "source": {"uri": "bg.mp4", "loop": true},
   "size": {"width": $W, "height": $H}},
  {"name": "pip", "kind": "video", "source": {"uri": "pip.mp4", "loop": true},
   "position": {"x": $(s 1240), "y": $(t 80)}, "size": {"width": $(s 640), "height": $(t 360)}},
  {"name": "logo", "kind": "image", "source": {"url": "logo.png"},
   "position": {"x": $(s 60), "y": $(t 60)}, "size": {"width": $(s 320), "height": $(t 160)}},
  {"name": "lower-third", "kind": "color", "source": {"color": "#1E3A8A"},
   "position": {"x": 0, "y": $(t 860)}, "size": {"width": $W, "height": $(t 160)}, "opacity": 0.75},
  {"name": "title", "kind": "text", "source": {"text": "Stream Manager Live", "fontSize": $(t 64), "color": "#FFFFFF"},
   "position": {"x": $(s 80), "y": $(t 870)}, "size": {"width": $(s 1200), "height": $(t 90)}},
  {"name": "subtitle", "kind": "text", "source": {"text": "Production scene benchmark", "fontSize": $(t 40), "color": "#FFD166"},
   "position": {"x": $(s 80), "y": $(t 955)}, "size": {"width": $(s 1200), "height": $(t 60)}}
 ]}
JSON
echo "$DIR/scene-${W}x${H}.json"
