#!/usr/bin/env bash
# Starts (or stops) the clustered engines users deploy, beside the machine's single services:
# a 3-node RabbitMQ cluster and a Redis Cluster of 3 masters, on their own ports, with their own
# data folders under $CLUSTER_DIR (default /tmp/sm-clusters).
#
#   bash scripts/clusters.sh start    # prints the URLs to export
#   bash scripts/clusters.sh stop
#   bash scripts/clusters.sh status
#
# RabbitMQ: nodes smq1..3@localhost, AMQP on 5701..5703, distribution on 25701..25703; the
#   jobs queue the product declares is a quorum queue replicated across them
#   (AMQP_URL may list every node, comma separated).
# Redis: masters on 7001..7003 (`--cluster-enabled yes`, joined with `redis-cli --cluster
#   create`), selected by the product with REDIS_URL=redis+cluster://127.0.0.1:7001,127.0.0.1:7002,...
set -euo pipefail

DIR=${CLUSTER_DIR:-/tmp/sm-clusters}
RMQ_PORTS=(5701 5702 5703)
REDIS_PORTS=(7001 7002 7003)

answers() { timeout 1 bash -c "</dev/tcp/127.0.0.1/$1" 2>/dev/null; }

rmq_env() { # index -> the environment one node runs with
  local i=$1 port=${RMQ_PORTS[$1]}
  echo "RABBITMQ_NODENAME=smq$((i + 1))@localhost" \
    "RABBITMQ_NODE_PORT=$port" \
    "RABBITMQ_DIST_PORT=$((port + 20000))" \
    "RABBITMQ_MNESIA_BASE=$DIR/rabbitmq/$i/mnesia" \
    "RABBITMQ_LOG_BASE=$DIR/rabbitmq/$i/log" \
    "RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/rabbitmq/$i/enabled_plugins" \
    "RABBITMQ_CONFIG_FILE=$DIR/rabbitmq/$i/rabbitmq" \
    "RABBITMQ_PID_FILE=$DIR/rabbitmq/$i/pid"
}

rmqctl() { # index args...
  local i=$1
  shift
  rabbitmqctl -n "smq$((i + 1))@localhost" "$@"
}

start_rabbitmq() {
  for i in 0 1 2; do
    local port=${RMQ_PORTS[$i]}
    if answers "$port"; then continue; fi
    mkdir -p "$DIR/rabbitmq/$i/log" "$DIR/rabbitmq/$i/mnesia"
    echo "[]." >"$DIR/rabbitmq/$i/enabled_plugins"
    # Guest may log in from loopback only (the default); no management listener.
    printf 'loopback_users.guest = true\nlisteners.tcp.default = %s\n' "$port" >"$DIR/rabbitmq/$i/rabbitmq.conf"
    # Debian's wrapper runs the server as the rabbitmq user: it must own its folders.
    if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq:rabbitmq "$DIR/rabbitmq"; fi
    # shellcheck disable=SC2046
    env $(rmq_env "$i") rabbitmq-server -detached
  done
  for i in 0 1 2; do
    for _ in $(seq 1 90); do answers "${RMQ_PORTS[$i]}" && break; sleep 1; done
    answers "${RMQ_PORTS[$i]}" || { echo "rabbitmq node $i did not come up" >&2; exit 1; }
    rmqctl "$i" await_startup >/dev/null
  done
  for i in 1 2; do
    if ! rmqctl "$i" cluster_status --formatter json 2>/dev/null | grep -q 'smq1@localhost'; then
      rmqctl "$i" stop_app >/dev/null
      rmqctl "$i" join_cluster smq1@localhost >/dev/null
      rmqctl "$i" start_app >/dev/null
    fi
  done
  echo "rabbitmq cluster: $(rmqctl 0 cluster_status --formatter json | python3 -c 'import json,sys; print(", ".join(json.load(sys.stdin)["running_nodes"]))')"
}

start_redis() {
  for port in "${REDIS_PORTS[@]}"; do
    if answers "$port"; then continue; fi
    mkdir -p "$DIR/redis/$port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
      --cluster-config-file "$DIR/redis/$port/nodes.conf" --cluster-node-timeout 2000 \
      --save "" --appendonly no --dir "$DIR/redis/$port" --logfile "$DIR/redis/$port/log"
  done
  for port in "${REDIS_PORTS[@]}"; do
    for _ in $(seq 1 30); do answers "$port" && break; sleep 0.5; done
  done
  # Create the cluster only when its first node knows no other: a master restarted after a
  # kill reads its nodes.conf and rejoins by itself, and the cluster reports `fail` until it
  # has (creating it again then fails, "node is not empty").
  local known
  known=$(redis-cli -p "${REDIS_PORTS[0]}" cluster info | grep cluster_known_nodes | tr -dc 0-9)
  if [ "${known:-1}" -le 1 ]; then
    local nodes=()
    for port in "${REDIS_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  for _ in $(seq 1 60); do
    redis-cli -p "${REDIS_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
    sleep 0.5
  done
  echo "redis cluster: $(redis-cli -p "${REDIS_PORTS[0]}" cluster info | grep cluster_state | tr -d '\r')"
}

urls() {
  local amqp=() redis=()
  for p in "${RMQ_PORTS[@]}"; do amqp+=("amqp://guest:guest@127.0.0.1:$p/%2f"); done
  for p in "${REDIS_PORTS[@]}"; do redis+=("127.0.0.1:$p"); done
  echo "export CLUSTER_AMQP_URL=$(IFS=,; echo "${amqp[*]}")"
  echo "export CLUSTER_REDIS_URL=redis+cluster://$(IFS=,; echo "${redis[*]}")"
}

stop_all() {
  for i in 0 1 2; do rmqctl "$i" stop >/dev/null 2>&1 || true; done
  for port in "${REDIS_PORTS[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
  rm -rf "$DIR"
}

case "${1:-start}" in
  start)
    start_rabbitmq
    start_redis
    urls
    ;;
  stop) stop_all ;;
  status)
    for i in 0 1 2; do rmqctl "$i" status >/dev/null 2>&1 && echo "smq$((i + 1)) up" || echo "smq$((i + 1)) down"; done
    for port in "${REDIS_PORTS[@]}"; do answers "$port" && echo "redis $port up" || echo "redis $port down"; done
    ;;
  urls) urls ;;
  *)
    echo "usage: $0 start|stop|status|urls" >&2
    exit 2
    ;;
esac
