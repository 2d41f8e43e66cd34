#!/bin/bash
# Render node agent (installed by user data, run by systemd): once a minute it
#   - publishes the node's free slots and streams (from its /metrics) and the jobs queue's ready
#     messages (from the RabbitMQ management API: Amazon MQ has no per-queue CloudWatch metric
#     for RabbitMQ 4) to CloudWatch, where they drive the group's scaling alarms;
#   - keeps the instance's scale-in protection equal to "holds streams", so the group only ever
#     scales in nodes that hold none and scale-in never moves a live stream.
# Configuration: /etc/render-node/agent.env (REGION, ASG_NAME, INSTANCE_ID, METRICS_URL,
# CW_NAMESPACE, BROKER_API_URL, JOBS_QUEUE, VHOST) and AMQP_URL from the node's env file.
set -uo pipefail

# shellcheck source=/dev/null
. /etc/render-node/agent.env
AMQP_URL=$(sed -n 's/^AMQP_URL=//p' /etc/render-node/render-node.env)
creds=${AMQP_URL#*://}
creds=${creds%%@*}
BROKER_USER=${creds%%:*}
BROKER_PASSWORD=${creds#*:}

protected=""
protected_at=0

# metric NAME TEXT: the value of an unlabelled sample, as an integer.
metric() {
  awk -v n="$1" '$1 == n { printf "%d\n", $2; exit }' <<<"$2"
}

put() { # MINUTE NAME=VALUE...: one datapoint per metric, stamped with the minute
  local minute="$1" item data=()
  shift
  for item in "$@"; do
    data+=("MetricName=${item%%=*},Value=${item#*=},Unit=Count,Timestamp=$minute,Dimensions=[{Name=AutoScalingGroupName,Value=$ASG_NAME}]")
  done
  aws cloudwatch put-metric-data --region "$REGION" --namespace "$CW_NAMESPACE" --metric-data "${data[@]}" \
    || echo "agent: put-metric-data failed" >&2
}

protect() { # true|false
  local flag=--protected-from-scale-in
  [ "$1" = true ] || flag=--no-protected-from-scale-in
  if aws autoscaling set-instance-protection --region "$REGION" --auto-scaling-group-name "$ASG_NAME" \
    --instance-ids "$INSTANCE_ID" "$flag"; then
    protected="$1"
    protected_at=$SECONDS
  fi
}

while true; do
  minute=$(date -u +%Y-%m-%dT%H:%M:00Z)
  items=()
  if body=$(curl -fsS --max-time 5 "$METRICS_URL"); then
    streams=$(metric node_streams "$body")
    free=$(metric node_free_slots "$body")
    if [ -z "$free" ]; then
      # Older images export no node_free_slots: capacity minus streams while accepting.
      capacity=$(metric node_capacity "$body")
      accepting=$(metric node_accepting "$body")
      free=$(( ${accepting:-0} > 0 ? ${capacity:-0} - ${streams:-0} : 0 ))
      [ "$free" -ge 0 ] || free=0
    fi
    items+=("FreeSlots=$free" "Streams=${streams:-0}")
    want=false
    [ "${streams:-0}" -gt 0 ] && want=true
    # Re-assert every 10 minutes too: an instance refresh or an operator may have changed it.
    if [ "$want" != "$protected" ] || [ $((SECONDS - protected_at)) -ge 600 ]; then
      protect "$want"
    fi
  else
    echo "agent: $METRICS_URL does not answer" >&2
  fi
  if ready=$(curl -fsS --max-time 10 -u "$BROKER_USER:$BROKER_PASSWORD" \
    "$BROKER_API_URL/api/queues/$VHOST/$JOBS_QUEUE" | jq -er '.messages_ready'); then
    items+=("JobsReady=$ready")
  else
    echo "agent: cannot read $JOBS_QUEUE from the management API" >&2
  fi
  [ "${#items[@]}" -eq 0 ] || put "$minute" "${items[@]}"
  sleep $((60 - 10#$(date -u +%S)))
done
