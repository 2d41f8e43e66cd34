#!/bin/bash
# Drain watcher (installed by user data, run by systemd): the autoscaling group holds a
# terminating node in Terminating:Wait (lifecycle hook). The watcher sees it in the instance
# metadata, sends SIGTERM (the node drains: its streams move to other nodes), waits up to
# DRAIN_SECONDS, then lets the termination continue.
# Usage: render-node-drain REGION ASG_NAME HOOK_NAME DRAIN_SECONDS
set -uo pipefail
REGION="$1" ASG_NAME="$2" HOOK_NAME="$3" DRAIN_SECONDS="$4"
imds() {
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}
INSTANCE_ID=$(imds meta-data/instance-id)
while true; do
  if [ "$(imds meta-data/autoscaling/target-lifecycle-state || true)" = "Terminated" ]; then
    echo "lifecycle: Terminated; draining render-node (up to $DRAIN_SECONDS s)"
    systemctl stop render-node-agent.service || true
    docker stop --time "$DRAIN_SECONDS" render-node || true
    aws autoscaling complete-lifecycle-action --region "$REGION" \
      --auto-scaling-group-name "$ASG_NAME" --lifecycle-hook-name "$HOOK_NAME" \
      --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE
    exit 0
  fi
  sleep 5
done
