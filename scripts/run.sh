#!/usr/bin/env bash
# The run command: the whole loop on this machine. It installs what is missing (Debian 12),
# starts Postgres/Redis/RabbitMQ from the machine's packages when they are not running, builds
# and starts the control plane, one render node and a local RTMP receiver (nginx-rtmp),
# creates a demo stream with a few layers, starts it, and tells you how to watch and steer it.
# Ctrl-C stops everything. Usage: bash scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
state_dir="${XDG_STATE_HOME:-$HOME/.local/state}/stream-manager"
mkdir -p "$state_dir"

# Only what running needs: the test command's tools (chromium, sqlx-cli, cargo-fuzz, …) are
# installed by scripts/test.sh.
bash scripts/install-deps.sh run
bash scripts/services.sh

# Stable local secrets, so tokens keep working across restarts of the local stack.
for f in jwt-secret node-secret; do
  [ -s "$state_dir/$f" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state_dir/$f"
done
export JWT_SECRET="$(cat "$state_dir/jwt-secret")"
export NODE_SECRET="$(cat "$state_dir/node-secret")"
export HTTP_ADDR="${HTTP_ADDR:-127.0.0.1:8080}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stream_manager}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export SM_NAMESPACE="${SM_NAMESPACE:-local.}"
# The local stack pushes to and reads from this machine.
export ALLOW_PRIVATE_MEDIA_URLS="${ALLOW_PRIVATE_MEDIA_URLS:-true}"
export RUST_LOG="${RUST_LOG:-info}"
rtmp_port="${RTMP_PORT:-1936}"
# Where encoders (OBS, ffmpeg) publish camera feeds: the render node's RTMP ingest.
export INGEST_ADDR="${INGEST_ADDR:-127.0.0.1:1935}"
export INGEST_URL="${INGEST_URL:-rtmp://$INGEST_ADDR/live}"

db_name="${DATABASE_URL##*/}"; db_name="${db_name%%\?*}"
psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1 \
  || psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$db_name\""

echo "building (the first build takes several minutes on two cores)"
# The two binaries this command runs, nothing else: no tests, no examples, no other member.
cargo build --release -p control-plane --bin control-plane -p render-node --bin render-node
cp_bin="$CARGO_TARGET_DIR/release/control-plane"
node_bin="$CARGO_TARGET_DIR/release/render-node"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The RTMP receiver.
nginx_dir="$state_dir/nginx"
mkdir -p "$nginx_dir"
sed -e "s|@PREFIX@|$nginx_dir|g" -e "s|@PORT@|$rtmp_port|g" scripts/local/nginx-rtmp.conf.in > "$nginx_dir/nginx.conf"
nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" & pids+=($!)

"$cp_bin" & pids+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://$HTTP_ADDR/readyz" >/dev/null || { echo "the control plane is not ready" >&2; exit 1; }

NODE_ID="${NODE_ID:-local-node}" NODE_CAPACITY="${NODE_CAPACITY:-32}" CONTROL_PLANE_URL="http://$HTTP_ADDR" \
  METRICS_ADDR="${METRICS_ADDR:-127.0.0.1:9091}" "$node_bin" serve & pids+=($!)

token="$("$cp_bin" token --tenant demo --ttl 12h)"
api() { # method path [json]
  curl -fsS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "http://$HTTP_ADDR$2"
}
watch_url="rtmp://127.0.0.1:$rtmp_port/live/demo"
# A demo stream, built once: a background, a title, a lower third and its caption.
if [ "$(api GET /stream/layers | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["count"])')" = 0 ]; then
  api PATCH /stream/config "{\"STREAM_RESOLUTION\":\"1280x720\",\"TARGET_FPS\":30,\"STREAM_BITRATE\":\"2500k\",\"outputs\":[\"$watch_url\"]}" >/dev/null
  api POST /stream/layers '{"name":"background","kind":"color","source":{"color":"#14213D"}}' >/dev/null
  api POST /stream/layers '{"name":"title","kind":"text","source":{"text":"Stream Manager","fontSize":64,"color":"#FFFFFF"},"position":{"x":60,"y":40},"size":{"width":900,"height":100}}' >/dev/null
  api POST /stream/layers '{"name":"lower third","kind":"color","source":{"color":"#FCA311CC"},"position":{"x":0,"y":560},"size":{"width":1280,"height":100}}' >/dev/null
  api POST /stream/layers '{"name":"caption","kind":"text","source":{"text":"Live from the local stack","fontSize":40,"color":"#000000"},"position":{"x":60,"y":585},"size":{"width":1000,"height":60}}' >/dev/null
fi
# A camera slot: an ingest layer showing whatever an encoder publishes with the demo's key.
# Keys are shown only when created, so each run makes a fresh one and retires the old ones.
for old in $(api GET /stream/keys | python3 -c 'import json,sys; print(" ".join(k["id"] for k in json.load(sys.stdin)["data"]["keys"]))'); do
  api DELETE "/stream/keys/$old" >/dev/null
done
read -r key_id stream_key < <(api POST /stream/keys '{}' | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["id"], d["key"])')
camera=$(api GET /stream/layers | python3 -c 'import json,sys; print(next((l["id"] for l in json.load(sys.stdin)["data"]["layers"] if l["name"] == "camera"), ""))')
if [ -n "$camera" ]; then
  api PATCH "/stream/layers/$camera" "{\"source\":{\"keyId\":\"$key_id\"}}" >/dev/null
else
  api POST /stream/layers "{\"name\":\"camera\",\"kind\":\"ingest\",\"source\":{\"keyId\":\"$key_id\"},\"position\":{\"x\":860,\"y\":40},\"size\":{\"width\":380,\"height\":214}}" >/dev/null
fi
api POST /stream/start >/dev/null
for _ in $(seq 1 40); do
  state=$(api GET /stream/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["state"])')
  [ "$state" = live ] && break
  sleep 0.5
done

stream_id=$(api GET /stream/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["streamId"])')
cat <<MSG

Stream Manager is running locally (Ctrl-C stops everything). The demo stream is $state.

  Dashboard:      http://$HTTP_ADDR/          (sign in with the token below)
  Watch it:       ffplay $watch_url           (or open that URL in VLC)
  RTSP preview:   ffplay rtsp://${RTSP_ADDR:-127.0.0.1:8554}/$stream_id
  Preview frame:  curl -H "Authorization: Bearer \$TOKEN" http://$HTTP_ADDR/stream/preview.jpg -o preview.jpg

  Camera (the "camera" layer, top right): point OBS at it, Settings > Stream >
      Service: Custom...   Server: $INGEST_URL   Stream Key: $stream_key
  or publish a test feed with ffmpeg:
      ffmpeg -re -f lavfi -i testsrc2=s=1280x720:r=30 -f lavfi -i sine=frequency=440 \\
             -c:v libx264 -preset veryfast -tune zerolatency -g 60 -c:a aac -f flv $INGEST_URL/$stream_key

  export TOKEN=$token
  curl -s -H "Authorization: Bearer \$TOKEN" http://$HTTP_ADDR/stream/status
  curl -s -X PATCH -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"position":{"x":200,"y":300},"transition":{"durationMs":800,"easing":"ease-in-out"}}' \\
       http://$HTTP_ADDR/stream/layers/<layer id from GET /stream/layers>
  More tokens:    JWT_SECRET=\$(cat $state_dir/jwt-secret) $cp_bin token --tenant demo
  Fleet:          curl -H "Authorization: Bearer $("$cp_bin" token --operator ops)" http://$HTTP_ADDR/nodes
  API:            http://$HTTP_ADDR/openapi.json    Metrics: http://$HTTP_ADDR/metrics
MSG
wait -n "${pids[@]}"
