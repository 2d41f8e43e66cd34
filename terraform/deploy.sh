#!/usr/bin/env bash
# Deploys a version in the order that keeps it safe, first apply included:
#   1. apply only what the one-off tasks need: network, data stores, secrets (their values
#      written), the ECS cluster and the migrate / app-users task definitions of the new image;
#   2. run the app-users task: the services' own Postgres and RabbitMQ users exist and have
#      the current passwords (never the RDS master or the broker admin);
#   3. run `control-plane migrate` with the new image: the schema is the new version's before
#      any new task starts (tasks refuse a schema newer than they know, so old tasks keep
#      running on an expanded schema: migrations are expand/contract, see README.md);
#   4. apply everything: the ECS service rolls (circuit breaker rolls a failing one back), the
#      render nodes' launch template gets a new version;
#   5. start the render nodes' instance refresh to that version (output
#      render_nodes_instance_refresh): new nodes first, each old one drained by the lifecycle
#      hook, and rolled back to the previous version if the new nodes fail their health
#      checks. Terraform does not start it itself: the AWS provider would move the group to the
#      new version first, leaving nothing to roll back to.
# A task that fails (any container's exit code other than 0) stops the deploy before step 4.
#
# Usage: terraform/deploy.sh ENV [-var ...]      e.g. terraform/deploy.sh staging
# Needs terraform, the AWS CLI and jq, and the environment initialised (terraform init).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 ENV [terraform apply arguments]" >&2; exit 2; }
env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/envs/$1" && pwd)"
shift

tf() { terraform -chdir="$env_dir" "$@"; }
say() { printf 'deploy: %s\n' "$*" >&2; }

cp=module.stream_manager.module.control_plane
say "1/5 apply the data stores, secrets and one-off task definitions"
tf apply -input=false \
  -target=module.stream_manager.module.network \
  -target=module.stream_manager.module.postgres \
  -target=module.stream_manager.module.rabbitmq \
  -target="$cp.aws_ecs_cluster.this" \
  -target="$cp.aws_ecs_cluster_capacity_providers.this" \
  -target="$cp.aws_vpc_security_group_egress_rule.ops_postgres" \
  -target="$cp.aws_vpc_security_group_egress_rule.ops_https" \
  -target="$cp.aws_ecs_task_definition.app_users" \
  -target="$cp.aws_ecs_task_definition.migrate" \
  "$@"

cluster="$(tf output -raw ecs_cluster_name)"
subnets="$(tf output -json private_subnet_ids | jq -r 'join(",")')"
group="$(tf output -raw ops_security_group_id)"

# run_task FAMILY: runs the family's newest revision to completion; fails unless every
# container exited 0.
run_task() {
  local family="$1" arn codes
  arn="$(aws ecs run-task --cluster "$cluster" --task-definition "$family" --launch-type FARGATE \
    --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$group],assignPublicIp=DISABLED}" \
    --query 'tasks[0].taskArn' --output text)"
  if [ -z "$arn" ] || [ "$arn" = "None" ]; then
    say "$family: the task did not start"
    return 1
  fi
  say "$family: $arn"
  aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$arn"
  codes="$(aws ecs describe-tasks --cluster "$cluster" --tasks "$arn" \
    --query 'tasks[0].containers[].[name,exitCode]' --output text)"
  say "$family exit codes: $(echo "$codes" | tr '\t\n' '= ')"
  if echo "$codes" | awk '$2 != "0" { bad = 1 } END { exit bad ? 0 : 1 }'; then
    say "$family failed: see the ops log stream of the control-plane log group"
    return 1
  fi
}

say "2/5 app users"
run_task "$(tf output -raw app_users_task_family)"
say "3/5 migrate"
run_task "$(tf output -raw migrate_task_family)"
say "4/5 apply everything"
tf apply -input=false "$@"

say "5/5 render nodes: instance refresh (rolls back on failure)"
refresh_id="$(aws autoscaling start-instance-refresh \
  --cli-input-json "$(tf output -raw render_nodes_instance_refresh)" \
  --query InstanceRefreshId --output text)"
say "instance refresh $refresh_id started; follow it with:"
say "  aws autoscaling describe-instance-refreshes --auto-scaling-group-name $(tf output -raw render_nodes_autoscaling_group) --instance-refresh-ids $refresh_id"
