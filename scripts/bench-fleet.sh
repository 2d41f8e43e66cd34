#!/usr/bin/env bash
# Fleet load benchmark: two release control planes on the local Postgres, Redis and RabbitMQ,
# NODES simulated render nodes (fleet-sim: real fleet nodes on the simulated engine, real AMQP
# jobs and queues, real /internal calls with NODE_SECRET, real Redis reports), STREAMS_PER_NODE
# streams per node over a tenant mix, started in one burst, then SECONDS of a 200 req/s API
# workload during which node sim-0 (a process of its own) is SIGKILLed at a third of the run.
# Prints `FIGURE name=value unit` lines (scripts/bench-report.sh reads them).
# Usage: bash scripts/bench-fleet.sh [NODES] [STREAMS_PER_NODE] [SECONDS]
# FLEET_DB (database, default sm_fleet), FLEET_NAMESPACE (Redis/AMQP prefix, default fleet.),
# FLEET_CP_PORTS (the two control planes' ports, default "18281 18282") and FLEET_NODE_PORT
# (the first node's /metrics port, default 19100) let two runs share the machine.
#
# Postgres figures are this run's database alone; Redis is shared with whatever else runs
# on this machine (its INFO counters are server-wide), so on a shared machine the Redis
# figures are an upper bound.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes="${1:-50}"
per_node="${2:-10}"
secs="${3:-60}"
rps="${FLEET_RPS:-200}"
streams=$((nodes * per_node))
# Room for a dead node's streams on the others (a full fleet cannot fail over).
capacity=$((per_node + per_node / 4 + 2))
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stream-manager/target}"
export SQLX_OFFLINE=true

# FLEET_PROFILE=debug runs debug builds (a quick check of the harness, not a measurement).
# FLEET_BIN_DIR runs the control-plane and fleet-sim binaries found there instead of
# building (to compare two builds).
profile="${FLEET_PROFILE:-release}"
bin_dir="${FLEET_BIN_DIR:-$CARGO_TARGET_DIR/$profile}"
if [ -z "${FLEET_BIN_DIR:-}" ] && [ "$profile" = release ]; then
  cargo build --release -q -p control-plane -p render-node --bins
elif [ -z "${FLEET_BIN_DIR:-}" ]; then
  cargo build -q -p control-plane -p render-node --bins
fi
cp_bin="$bin_dir/control-plane"
sim_bin="$bin_dir/fleet-sim"

admin="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
db="${FLEET_DB:-sm_fleet}"
node_port="${FLEET_NODE_PORT:-19100}"
psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# A load harness, not a quota test: tenants run up to 30 streams (the default quota is 10)
# and the workload outruns one tenant's request rate.
export QUOTA_RUNNING_STREAMS=100000 QUOTA_STREAMS=100000 QUOTA_REQUESTS_PER_SECOND=0
export JWT_SECRET="fleet-bench-secret-0123456789abcdef" NODE_SECRET="fleet-bench-node-secret-0123456789"
export DATABASE_URL="${admin%/*}/$db" SM_NAMESPACE="${FLEET_NAMESPACE:-fleet.}" RUST_LOG="${RUST_LOG:-warn}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
"$cp_bin" migrate >/dev/null
cp_urls=()
cp_pids=()
for port in ${FLEET_CP_PORTS:-18281 18282}; do
  HTTP_ADDR="127.0.0.1:$port" DB_MAX_CONNECTIONS=16 MIGRATE_ON_START=false \
    "$cp_bin" >"$tmp/cp-$port.log" 2>&1 &
  pids+=($!) cp_pids+=($!) cp_urls+=("http://127.0.0.1:$port")
done
for u in "${cp_urls[@]}"; do
  for _ in $(seq 1 120); do curl -fs "$u/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
done
cp_list=$(IFS=,; echo "${cp_urls[*]}")

# The tenant mix (1, 3, 10, 30 streams in turn) needs about one tenant per 11 streams.
tenants=$((streams / 11 + 8))
for i in $(seq 1 "$tenants"); do
  echo "fleet-$i $("$cp_bin" token --tenant "fleet-$i" --ttl 1d)"
done >"$tmp/tokens"

# The nodes show their per-stream series (the final accounting) to holders of this token.
export CONTROL_PLANE_URL="$cp_list" INGEST_ADDR=off METRICS_TOKEN="fleet-bench-metrics-token"
"$sim_bin" nodes --count 1 --first 0 --capacity "$capacity" --base-port "$node_port" >"$tmp/victim.log" 2>&1 &
victim=$! pids+=($!)
"$sim_bin" nodes --count $((nodes - 1)) --first 1 --capacity "$capacity" --base-port "$node_port" >"$tmp/nodes.log" 2>&1 &
pids+=($!)
sleep 2

# Counters read when the steady phase starts and ends (the driver runs this).
cat >"$tmp/mark.sh" <<EOF
#!/usr/bin/env bash
out="$tmp/mark-\$1"
psql "$DATABASE_URL" -Atc "SELECT 'pg_tuples=' || (tup_inserted + tup_updated + tup_deleted) || ' pg_commits=' || xact_commit FROM pg_stat_database WHERE datname = '$db'" >"\$out"
psql "$DATABASE_URL" -Atc "SELECT 'pg_row_updates=' || coalesce(sum(n_tup_upd), 0) FROM pg_stat_user_tables" >>"\$out"
redis-cli -u "$REDIS_URL" INFO stats | tr -d '\r' | awk -F: '/^(total_commands_processed|total_net_input_bytes|total_net_output_bytes):/ {print "redis_" \$1 "=" \$2}' >>"\$out"
cpu=0
for p in ${cp_pids[*]}; do cpu=\$((cpu + \$(awk '{print \$14 + \$15}' /proc/\$p/stat))); done
echo "cp_cpu_ticks=\$cpu" >>"\$out"
amqp=0
for u in ${cp_urls[*]}; do
  n=\$(curl -fs "\$u/metrics" | awk '/^jobs_published_total/ {s += \$2} END {print s + 0}')
  amqp=\$((amqp + \${n%.*}))
done
echo "amqp_published=\$amqp" >>"\$out"
date +%s.%N | sed 's/^/at=/' >>"\$out"
EOF

echo "fleet: $nodes nodes x $per_node streams ($streams streams, $tenants tenants), capacity $capacity, ${secs}s, $rps req/s, $(nproc) cores shared with every process (and other engineers' builds)"
"$sim_bin" drive --api "$cp_list" --tokens "$tmp/tokens" --streams "$streams" --seconds "$secs" \
  --rps "$rps" --redis "$REDIS_URL" --namespace "$SM_NAMESPACE" --kill-pid "$victim" --kill-node sim-0 \
  --node-count "$nodes" --node-base-port "$node_port" --mark "bash $tmp/mark.sh" | tee "$tmp/drive.out"

# Steady-phase costs, per stream-second and per node-second.
python3 - "$tmp/mark-start" "$tmp/mark-end" "$streams" "$nodes" "$(getconf CLK_TCK)" <<'PY'
import sys
def read(p):
    return {k: float(v) for k, v in (w.split("=", 1) for w in open(p).read().split() if "=" in w)}
a, b = read(sys.argv[1]), read(sys.argv[2])
streams, nodes, hz = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
secs = b["at"] - a["at"]
d = {k: b[k] - a[k] for k in a if k in b}
ss, ns = streams * secs, nodes * secs
def fig(name, value, unit):
    print(f"FIGURE {name}={value:.4g} {unit}")
fig("fleet_steady_seconds", secs, "s")
fig("fleet_pg_writes_per_node_second", d["pg_tuples"] / ns, "rows")
fig("fleet_pg_writes_per_stream_second", d["pg_tuples"] / ss, "rows")
fig("fleet_pg_commits_per_second", d["pg_commits"] / secs, "transactions")
fig("fleet_cp_cpu_ms_per_stream_second", d["cp_cpu_ticks"] / hz * 1000 / ss, "ms")
fig("fleet_cp_cpu_cores", d["cp_cpu_ticks"] / hz / secs, "cores")
fig("fleet_redis_ops_per_stream_second", d["redis_total_commands_processed"] / ss, "ops")
fig("fleet_redis_bytes_per_stream_second",
    (d["redis_total_net_input_bytes"] + d["redis_total_net_output_bytes"]) / ss, "bytes")
fig("fleet_amqp_published_per_stream_second", d["amqp_published"] / ss, "messages")
PY
