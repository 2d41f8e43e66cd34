#!/usr/bin/env bash
# Self-test of scripts/check-deploy.sh: it must pass on an intact copy of the deploy files and
# fail on each deliberately broken copy. Each broken case runs only the section that owns the
# finding (CHECK_DEPLOY_ONLY), so the failure is that check's and not another's; a case whose
# edit changes nothing is itself a failure (an edit that no longer applies proves nothing).
# Needs what the Dockerfiles, the rules and the checks read, so the workspace members'
# manifests and sources, migrations, monitoring/ and docs/ are copied too.
# Usage: bash scripts/test-check-deploy.sh      (SELFTEST_ONLY=REGEX: only the broken cases whose
#                                                name matches, after the intact run)
# The broken cases' edits are literal shell and sed text, run later in the copy:
# shellcheck disable=SC2016
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check="$repo/scripts/check-deploy.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0

# fresh_copy DIR: the deploy files plus what the Dockerfiles and the checker read.
fresh_copy() {
  local dst="$1"
  mkdir -p "$dst"
  (
    cd "$repo"
    local parts=(./terraform ./docker ./.dockerignore ./Cargo.toml ./Cargo.lock ./README.md) d
    # Every workspace member (the Dockerfiles copy each), read from Cargo.toml so a new
    # crate cannot be left out of the copy.
    local members
    members=$(python3 -c 'import tomllib; print(" ".join(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["members"]))')
    for d in .sqlx migrations $members monitoring docs; do
      [ -e "$d" ] && parts+=("./$d")
    done
    tar --exclude='./target' --exclude='*/node_modules' --exclude='./.git' --exclude='*/.terraform' -cf - "${parts[@]}"
  ) | tar -C "$dst" -xf -
}

# expect OUTCOME NAME DIR [SECTIONS]: runs the checker on DIR, expecting "pass" or "fail".
expect() {
  local outcome="$1" name="$2" dir="$3" sections="${4:-}" status=0 t0=$SECONDS
  CHECK_DEPLOY_ONLY="$sections" bash "$check" "$dir" >"$work/$name.log" 2>&1 || status=$?
  if { [ "$outcome" = pass ] && [ "$status" = 0 ]; } || { [ "$outcome" = fail ] && [ "$status" != 0 ]; }; then
    printf 'ok   %-44s (checker %s, %d s)\n' "$name" "$([ "$status" = 0 ] && echo passed || echo failed)" $((SECONDS - t0))
    passed=$((passed + 1))
  else
    printf 'FAIL %-44s expected the checker to %s; its output:\n' "$name" "$outcome"
    sed 's/^/     /' "$work/$name.log"
    failed=$((failed + 1))
  fi
}

# broken NAME SECTIONS CMD: copy, break with CMD run inside the copy, expect SECTIONS to fail.
broken() {
  local name="$1" sections="$2" cmd="$3" dir="$work/$1"
  [[ "$name" =~ ${SELFTEST_ONLY:-.} ]] || return 0
  fresh_copy "$dir"
  (cd "$dir" && eval "$cmd")
  if diff -rq "$work/intact" "$dir" >/dev/null 2>&1; then
    printf 'FAIL %-44s the edit changed nothing: %s\n' "$name" "$cmd"
    failed=$((failed + 1))
    rm -rf "$dir"
    return
  fi
  expect fail "$name" "$dir" "$sections"
  grep -m 3 '^FAIL' "$work/$name.log" | cut -c1-240 | sed 's/^/       reason: /' || true
  rm -rf "$dir"
}

# Warm the tool caches first (the intact run installs what is missing).
intact="$work/intact"
fresh_copy "$intact"
expect pass intact "$intact"

# ---- terraform: parse, variables, modules ----------------------------------------------------
broken tf-syntax-error terraform \
  'printf "\nresource \"aws_s3_bucket\" \"broken\" {\n  bucket = \n" >> terraform/modules/network/main.tf'
broken tf-undeclared-variable terraform \
  'sed -i "s/var.single_nat_gateway ? 1/var.single_nat_gatewy ? 1/" terraform/modules/network/main.tf'
broken tf-missing-module-path terraform \
  'sed -i "s#source = \"../redis\"#source = \"../redis-cache\"#" terraform/modules/stream_manager/main.tf'
broken tf-argument-not-a-module-variable terraform \
  'sed -i "s/^  slow_log_group_name        = /  slow_log_group             = /" terraform/modules/stream_manager/main.tf'
broken tf-unknown-module-output terraform \
  'sed -i "s/module.postgres.address/module.postgres.hostname/" terraform/modules/stream_manager/main.tf'

# ---- rules: the deploy review's findings ------------------------------------------------------
broken rules-secret-arns-not-versions rules \
  'sed -i "s/aws_secretsmanager_secret_version.this\[k\].arn/aws_secretsmanager_secret.this[k].arn/" terraform/modules/secrets/outputs.tf'
broken rules-bootstrap-no-err-trap rules \
  "sed -i \"/^trap 'fail/d\" terraform/modules/render_nodes/user_data.sh.tftpl"
broken rules-bootstrap-pull-not-retried rules \
  'sed -i "s/^retry docker pull/docker pull/" terraform/modules/render_nodes/user_data.sh.tftpl'
broken rules-staging-recovery-window rules \
  'sed -i "s/secret_recovery_window_days = 0/secret_recovery_window_days = 7/" terraform/envs/staging/main.tf'
broken rules-alb-logs-race-policy rules \
  'sed -i "s/aws_s3_bucket_policy.access_logs.bucket/aws_s3_bucket.access_logs.id/" terraform/modules/observability/outputs.tf'
broken rules-health-check-type-ec2 rules \
  'sed -i "s/health_check_type         = \"ELB\"/health_check_type         = \"EC2\"/" terraform/modules/render_nodes/main.tf'
broken rules-target-group-tcp-check rules \
  'sed -i "s/protocol            = \"HTTP\"/protocol            = \"TCP\"/" terraform/modules/render_nodes/ingest.tf'
broken rules-refresh-without-rollback rules \
  'sed -i "/AutoRollback  *= true/d" terraform/modules/render_nodes/outputs.tf'
broken rules-refresh-no-surge rules \
  'sed -i "s/default     = 200/default     = 100/" terraform/modules/render_nodes/variables.tf'
broken rules-terraform-moves-launch-template rules \
  'sed -i "s/ignore_changes = \[desired_capacity, launch_template\]/ignore_changes = [desired_capacity]/" terraform/modules/render_nodes/main.tf'
broken rules-deploy-starts-no-refresh rules \
  'sed -i "s/start-instance-refresh/describe-instance-refreshes/" terraform/deploy.sh'
broken rules-ami-read-at-plan rules \
  'sed -i "s/^  image_id = var.ami_id$/  image_id = data.aws_ssm_parameter.ami.value/" terraform/modules/render_nodes/main.tf'
broken rules-ami-ssm-parameter rules \
  'sed -i "s#^  image_id = var.ami_id\$#  image_id = \"resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64\"#" terraform/modules/render_nodes/main.tf'
broken rules-ecr-expires-deployed rules \
  'sed -i "s/protected_tags = local.deployed_tags/protected_tags = []/" terraform/modules/stream_manager/main.tf'
broken rules-no-scale-in-protection rules \
  'sed -i "s/protect_from_scale_in = true/protect_from_scale_in = false/" terraform/modules/render_nodes/main.tf'
broken rules-cpu-target-tracking rules \
  'printf "\nresource \"aws_autoscaling_policy\" \"cpu\" {\n  name                   = \"cpu\"\n  autoscaling_group_name = aws_autoscaling_group.this.name\n  policy_type            = \"TargetTrackingScaling\"\n  target_tracking_configuration {\n    target_value = 60\n    predefined_metric_specification {\n      predefined_metric_type = \"ASGAverageCPUUtilization\"\n    }\n  }\n}\n" >> terraform/modules/render_nodes/scaling.tf'
broken rules-backlog-missing-data-is-fine rules \
  'sed -i "0,/treat_missing_data        = \"missing\"/s//treat_missing_data        = \"notBreaching\"/" terraform/modules/render_nodes/scaling.tf'
broken rules-per-queue-mq-metric rules \
  'printf "\nresource \"aws_cloudwatch_metric_alarm\" \"queue\" {\n  alarm_name          = \"q\"\n  namespace           = \"AWS/AmazonMQ\"\n  metric_name         = \"MessageReadyCount\"\n  dimensions          = { Broker = \"b\", VirtualHost = \"/\", Queue = \"sm.jobs\" }\n  statistic           = \"Maximum\"\n  period              = 60\n  evaluation_periods  = 2\n  threshold           = 0\n  comparison_operator = \"GreaterThanThreshold\"\n}\n" >> terraform/modules/render_nodes/scaling.tf'
broken rules-cloud-map-weighted rules \
  'sed -i "0,/routing_policy = \"MULTIVALUE\"/s//routing_policy = \"WEIGHTED\"/" terraform/modules/control_plane/main.tf'
broken rules-waf-logs-unredacted rules \
  'python3 -c "import re,pathlib; p=pathlib.Path(\"terraform/modules/control_plane/main.tf\"); p.write_text(re.sub(r\"\n  redacted_fields \{.*?\n  \}\n\", \"\n\", p.read_text(), flags=re.S))"'
broken rules-token-printed-to-logs rules \
  "printf '\naws ecs run-task --overrides %s\n' \"'{\\\"containerOverrides\\\":[{\\\"name\\\":\\\"control-plane\\\",\\\"command\\\":[\\\"token\\\",\\\"--tenant\\\",\\\"acme\\\"]}]}'\" >> terraform/README.md"
broken rules-no-otlp-egress rules \
  'sed -i "/^  otlp_egress  *= local.otlp_egress/d" terraform/modules/stream_manager/main.tf'
broken rules-services-use-db-master rules \
  'sed -i "s#DATABASE_URL = \"postgres://\${var.database_app_username}:\${random_password.database_app.result}#DATABASE_URL = \"postgres://\${var.database_username}:\${random_password.database.result}#" terraform/modules/secrets/main.tf'
broken rules-broker-user-not-ignored rules \
  'sed -i "/ignore_changes = \[user\]/d" terraform/modules/rabbitmq/main.tf'
broken rules-redis-token-replaces rules \
  'sed -i "/auth_token_update_strategy = var.auth_token_update_strategy/d" terraform/modules/redis/main.tf'
broken rules-no-lock-file rules \
  'rm terraform/envs/prod/.terraform.lock.hcl'
broken rules-no-migrate-task rules \
  'sed -i "s/command                = \[\"migrate\"\]/command                = [\"serve\"]/" terraform/modules/control_plane/ops_tasks.tf'
broken rules-no-s3-endpoint rules \
  'sed -i "s/vpc_endpoint_type = \"Gateway\"/vpc_endpoint_type = \"Interface\"/" terraform/modules/network/main.tf'
broken rules-maintenance-windows-overlap rules \
  'sed -i "s/default     = \"THURSDAY\"/default     = \"TUESDAY\"/" terraform/modules/rabbitmq/variables.tf'
broken rules-no-datastore-alarms rules \
  'rm terraform/modules/redis/alarms.tf'
broken rules-prometheus-without-alerts rules \
  'sed -i "s#monitoring/prometheus/alerts.yml#monitoring/prometheus/alerts-datastores.yml#" terraform/modules/stream_manager/main.tf'

# ---- fleet: the deployment provides what the code needs ---------------------------------------
broken fleet-collector-scrapes-nodes-without-token fleet \
  'sed -i "/authorization = { type = \"Bearer\", credentials = \"\$\${env:METRICS_TOKEN}\" }/d" terraform/modules/prometheus/main.tf'
broken fleet-collector-not-given-token fleet \
  'sed -i "/secrets                = \[{ name = \"METRICS_TOKEN\"/d" terraform/modules/prometheus/main.tf'
broken fleet-nodes-without-metrics-token fleet \
  'sed -i "s/{ METRICS_TOKEN = var.metrics_token_secret_arn },/{},/" terraform/modules/render_nodes/main.tf'
broken fleet-compose-scrape-without-token fleet \
  'python3 -c "import pathlib; p=pathlib.Path(\"monitoring/prometheus/prometheus.yml\"); t=p.read_text(); a=\"    authorization:\n      type: Bearer\n      credentials: local-metrics-token\n\"; assert a in t; p.write_text(t.replace(a, \"\"))"'
broken fleet-compose-scrape-wrong-token fleet \
  'sed -i "s/credentials: local-metrics-token/credentials: another-token/" monitoring/prometheus/prometheus.yml'
broken fleet-no-srt-listener fleet \
  'python3 -c "import re,pathlib; p=pathlib.Path(\"terraform/modules/render_nodes/ingest.tf\"); t=p.read_text(); u=re.sub(r\"resource \\\"aws_lb_listener\\\" \\\"srt\\\" \{.*?\n\}\n\", \"\", t, flags=re.S); assert u != t; p.write_text(u)"'
broken fleet-srt-listener-tcp fleet \
  'sed -i "/resource \"aws_lb_listener\" \"srt\"/,/^}/s/protocol          = \"UDP\"/protocol          = \"TCP\"/" terraform/modules/render_nodes/ingest.tf'
broken fleet-nodes-admit-no-srt fleet \
  'sed -i "/resource \"aws_vpc_security_group_ingress_rule\" \"srt_from_lb\"/,/^}/s/ip_protocol                  = \"udp\"/ip_protocol                  = \"tcp\"/" terraform/modules/render_nodes/main.tf'
broken fleet-group-not-in-srt-target-group fleet \
  'sed -i "s/target_group_arns   = \[aws_lb_target_group.ingest.arn, aws_lb_target_group.srt.arn\]/target_group_arns   = [aws_lb_target_group.ingest.arn]/" terraform/modules/render_nodes/main.tf'
broken fleet-node-without-srt-addr fleet \
  'sed -i "/SRT_ADDR=/d" terraform/modules/render_nodes/user_data.sh.tftpl'
broken fleet-redis-without-cluster-mode fleet \
  'sed -i "s/num_node_groups            = var.cluster_mode ? var.num_shards : null/num_node_groups            = null/" terraform/modules/redis/main.tf'
broken fleet-redis-url-ignores-cluster-mode fleet \
  'sed -i "s#\${local.redis_scheme}://#rediss://#" terraform/modules/secrets/main.tf'
broken fleet-collector-image-latest fleet \
  'sed -i "s#aws-otel-collector:v0.43.3#aws-otel-collector:latest#" terraform/modules/prometheus/variables.tf'
broken fleet-sizing-undocumented fleet \
  'sed -i "s/redis_num_shards/redis_shard_count/g" terraform/README.md'

# ---- docker: contexts, pins, compose policy ----------------------------------------------------
broken dockerfile-copy-missing-file docker \
  'sed -i "s#^COPY migrations ./migrations#COPY migrations ./migrations\nCOPY does-not-exist.toml ./#" docker/control-plane.Dockerfile'
broken dockerfile-no-user docker \
  'sed -i "/^USER 10001:10001/d" docker/render-node.Dockerfile'
broken dockerfile-no-healthcheck docker \
  'sed -i "/^HEALTHCHECK/,/^$/d" docker/control-plane.Dockerfile'
broken dockerfile-unknown-package docker \
  'sed -i "s/-p render-node/-p render-nodes/" docker/render-node.Dockerfile'
broken dockerfile-floating-base-image docker \
  'sed -i "s/rust:1.95.0-bookworm/rust:1-bookworm/" docker/render-node.Dockerfile'
broken dockerfile-rust-older-than-msrv docker \
  'sed -i "s/rust:1.95.0-bookworm/rust:1.80.0-bookworm/" docker/control-plane.Dockerfile'
broken compose-missing-config docker \
  'rm docker/proxy/nginx.conf'
broken compose-missing-dockerfile docker \
  'sed -i "s#dockerfile: docker/render-node.Dockerfile#dockerfile: docker/render.Dockerfile#" docker/compose.yaml'
broken compose-floating-image docker \
  'sed -i "s/image: postgres:15.14-bookworm/image: postgres:15/" docker/compose.yaml'
broken compose-port-on-all-interfaces docker \
  'sed -i "s/\"127.0.0.1:9090:9090\"/\"9090:9090\"/" docker/compose.yaml'
broken compose-default-jwt-secret docker \
  'sed -i "s/JWT_SECRET: \${JWT_SECRET:?[^}]*}/JWT_SECRET: \${JWT_SECRET:-local-jwt-secret-change-me-0123456789}/" docker/compose.yaml'
broken compose-replicas-skip-migrate docker \
  'sed -i "s/condition: service_completed_successfully/condition: service_started/" docker/compose.yaml'

# ---- hadolint -----------------------------------------------------------------------------------
broken hadolint-root-user hadolint \
  'sed -i "s/^USER 10001:10001/USER root/" docker/render-node.Dockerfile'
broken hadolint-copy-from-unknown-stage hadolint \
  'sed -i "s/COPY --from=builder/COPY --from=buildr/" docker/control-plane.Dockerfile'
broken hadolint-unknown-instruction hadolint \
  'printf "FOOBAR x\n" >> docker/rtmp-receiver/Dockerfile'
broken hadolint-latest-image hadolint \
  'sed -i "s/^FROM debian:12.12-slim/FROM debian:latest/" docker/rtmp-receiver/Dockerfile'

# ---- elements: plugin coverage of the render-node image ----------------------------------------
broken elements-image-without-gstreamer1.0-x elements \
  'sed -i "s/ gstreamer1.0-x / /" docker/render-node.Dockerfile'
broken elements-image-without-ugly-plugins elements \
  'sed -i "s/ gstreamer1.0-plugins-ugly / /" docker/render-node.Dockerfile'
broken elements-list-stale-after-code-change elements \
  'printf "\n/// A new element the list does not know yet.\npub fn probe() -> Result<gst::Element, RenderError> {\n    make(\"identity\")\n}\n" >> render-node/src/error.rs'

# ---- monitoring ---------------------------------------------------------------------------------
broken monitoring-rule-does-not-parse monitoring \
  'sed -i "s/expr: stream_frames_per_second < 25/expr: stream_frames_per_second < < 25/" monitoring/prometheus/alerts.yml'
broken monitoring-alert-unit-test-fails monitoring \
  'sed -i "/alert: FleetFull/,/for:/s/for: 10m/for: 30m/" monitoring/prometheus/alerts.yml'
broken monitoring-dashboard-unknown-metric monitoring \
  'sed -i "s/sum(node_streams)/sum(node_stream_count)/" monitoring/grafana/dashboards/stream-manager.json'
broken monitoring-dashboard-bad-datasource monitoring \
  'sed -i "0,/\"uid\": \"prometheus\"/s//\"uid\": \"prom\"/" monitoring/grafana/dashboards/stream-manager.json'
broken monitoring-runbook-missing monitoring \
  'rm docs/runbooks/node-memory.md'
broken monitoring-exporter-metric-in-aws-rules monitoring \
  'sed -i "s/^  - name: api$/  - name: db\n    rules:\n      - alert: DbDown\n        expr: pg_up == 0\n        labels: {severity: page}\n        annotations: {runbook: docs\/runbooks\/datastore-down.md}\n\n  - name: api/" monitoring/prometheus/alerts.yml'
broken monitoring-collector-job-renamed monitoring \
  'sed -i "s/job_name     = \"render-node\"/job_name     = \"render-nodes\"/" terraform/modules/prometheus/main.tf'

# ---- shell, app users, deploy order --------------------------------------------------------------
broken shell-agent-word-splitting shell \
  'printf "\nfor f in \$(ls /tmp/*.json); do echo \$f; done\n" >> terraform/modules/render_nodes/node_agent.sh'
broken app-users-without-table-grants app-users \
  'sed -i "/^GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES/d" terraform/modules/control_plane/app_users.sql'
broken app-users-without-default-privileges app-users \
  'sed -i "/^ALTER DEFAULT PRIVILEGES/d" terraform/modules/control_plane/app_users.sql'
broken app-users-with-ddl app-users \
  'printf "GRANT CREATE ON SCHEMA public TO :\"app_user\";\n" >> terraform/modules/control_plane/app_users.sql'
broken deploy-skips-migrate deploy \
  'sed -i "/^run_task \"\$(tf output -raw migrate_task_family)\"/d" terraform/deploy.sh'
broken deploy-refresh-before-apply deploy \
  'python3 -c "import pathlib; p=pathlib.Path(\"terraform/deploy.sh\"); t=p.read_text(); a=\"say \\\"4/5 apply everything\\\"\ntf apply -input=false \\\"\$@\\\"\n\"; assert a in t; p.write_text(t.replace(a, \"\") + \"\n\" + a)"'
broken deploy-goes-on-after-a-failed-task deploy \
  'sed -i "s/^set -euo pipefail/set -uo pipefail/" terraform/deploy.sh'

# ---- validate (AWS provider schema; skipped where no provider mirror exists) -------------------
if command -v terraform >/dev/null && [ -d "${TF_PLUGIN_MIRROR:-/opt/tf-plugins}/registry.terraform.io/hashicorp/aws" ]; then
  broken validate-unknown-argument validate \
    'sed -i "s/^  protect_from_scale_in = true/  protect_from_scale_in = true\n  protect_from_scale_ins = true/" terraform/modules/render_nodes/main.tf'
else
  echo "note validate-unknown-argument skipped: no terraform binary or AWS provider mirror here"
fi

# ---- checkov ------------------------------------------------------------------------------------
broken checkov-finding checkov \
  'printf "\nresource \"aws_s3_bucket\" \"unprotected\" {\n  bucket = \"\${var.name}-unprotected\"\n}\n" >> terraform/modules/observability/main.tf'

# ---- scrape: the repository's binaries against a broken Prometheus configuration ----------------
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
if (cd "$repo" && SQLX_OFFLINE=true CARGO_TARGET_DIR="$target_dir" cargo build -q -p control-plane -p render-node); then
  SCRAPE_BIN_DIR="$target_dir/debug" broken scrape-wrong-metrics-path scrape \
    'sed -i "0,/metrics_path: \/metrics/s//metrics_path: \/metric/" monitoring/prometheus/prometheus.yml'
  SCRAPE_BIN_DIR="$target_dir/debug" broken scrape-render-node-over-https scrape \
    'sed -i "s/^  - job_name: render-node$/  - job_name: render-node\n    scheme: https/" monitoring/prometheus/prometheus.yml'
else
  echo "FAIL scrape cases: the binaries do not build"
  failed=$((failed + 1))
fi

printf '\ndeploy check self-test: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
