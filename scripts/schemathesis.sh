#!/usr/bin/env bash
# Property-based API checks: Schemathesis generates requests from /openapi.json (with a valid
# tenant token) against a real control plane and fails on any 5xx, any response that violates
# the documented schema, undocumented status codes or content types.
# Usage: bash scripts/schemathesis.sh [MAX_EXAMPLES]   (expects a built debug control plane)
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-25}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/stream-manager/schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
bin="$CARGO_TARGET_DIR/debug/control-plane"
[ -x "$bin" ] || SQLX_OFFLINE=true cargo build -q -p control-plane

admin="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
db="sm_st_$$"
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
port=$((20000 + $$ % 10000))
# The per-tenant request and upload rates are off: Schemathesis sends far faster than a tenant may, and
# answers of 429 (documented on every operation) would leave the logic behind them untested.
export JWT_SECRET="schemathesis-secret-0123456789" HTTP_ADDR="127.0.0.1:$port" RUST_LOG=warn \
  QUOTA_REQUESTS_PER_SECOND=0 QUOTA_UPLOADS_PER_MINUTE=0 \
  DATABASE_URL="${admin%/*}/$db" SM_NAMESPACE="st-$$."
"$bin" & pid=$!
cleanup() {
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 60); do curl -fs "http://$HTTP_ADDR/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
token="$("$bin" token --tenant schemathesis)"
# Checks: no server errors, responses match the schema, status codes and content types are
# documented. (positive_data_acceptance is left out on purpose: some rules — a decodable image,
# an existing asset id — cannot be expressed in a schema and rightly answer 422.)
"$venv/bin/schemathesis" run "http://$HTTP_ADDR/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-examples "$examples" --seed 42 --no-color
