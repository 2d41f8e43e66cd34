#!/usr/bin/env bash
# API load benchmark: a release control plane on the local services, loaded by wrk with 64
# connections on GET /stream/status and PATCH /stream/layers/{id}. Prints requests/s and
# p50/p99 latency per endpoint, also as `FIGURE name=value unit` lines for
# scripts/bench-report.sh. Usage: bash scripts/bench-api.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true
bash scripts/install-deps.sh >/dev/null
bash scripts/services.sh

cargo build --release -q -p control-plane
bin="$CARGO_TARGET_DIR/release/control-plane"
admin="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
psql "$admin" -qc "DROP DATABASE IF EXISTS sm_bench" -c "CREATE DATABASE sm_bench" >/dev/null
port=18181
export JWT_SECRET="bench-secret-0123456789abcdef" HTTP_ADDR="127.0.0.1:$port" RUST_LOG=warn \
  DATABASE_URL="${admin%/*}/sm_bench" SM_NAMESPACE="bench." DB_MAX_CONNECTIONS=16
"$bin" & pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 1 60); do curl -fs "http://$HTTP_ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
token="$("$bin" token --tenant bench)"
auth="Authorization: Bearer $token"
layer=$(curl -fs -H "$auth" -H 'Content-Type: application/json' \
  -d '{"kind":"color","source":{"color":"#336699"},"size":{"width":320,"height":180}}' \
  "http://$HTTP_ADDR/stream/layers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')

lua=$(mktemp --suffix=.lua)
cat > "$lua" <<LUA
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"position":{"x":%d,"y":%d},"opacity":0.5}', n % 1000, n % 500))
end
LUA

to_ms() { # wrk's latency (850.00us, 5.01ms, 1.20s) in ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/) n *= 1000; printf "%.2f", n }'
}
run() { # name, figure slug, extra wrk args...
  local name=$1 slug=$2; shift 2
  local out; out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $4}' <<<"$out"); errors=${errors:-0}
  printf '%-28s req/s=%-10s p50=%-9s p99=%-9s non-2xx=%s\n' "$name" "$rps" "$p50" "$p99" "$errors"
  printf 'FIGURE api_%s_rps=%s req/s\nFIGURE api_%s_p50=%s ms\nFIGURE api_%s_p99=%s ms\nFIGURE api_%s_non2xx=%s responses\n' \
    "$slug" "$rps" "$slug" "$(to_ms "$p50")" "$slug" "$(to_ms "$p99")" "$slug" "$errors"
}
echo "wrk: 2 threads, 64 connections, ${secs}s each, on $(nproc) cores shared with the server"
run "GET /stream/status" status -H "$auth" "http://$HTTP_ADDR/stream/status"
run "PATCH /stream/layers/{id}" layer_patch -s "$lua" "http://$HTTP_ADDR/stream/layers/$layer"
rm -f "$lua"
