#!/usr/bin/env python3
"""The deploy review's findings, as checks: each rule is one thing a platform team found wrong
in a first `terraform apply` or in the fleet's run-time behaviour, read statically from
terraform/ (python-hcl2), the node bootstrap and the docs. scripts/test-check-deploy.sh
breaks each one in a copy and proves its rule fails.

Usage: check_deploy_rules.py [ROOT]   (ROOT defaults to the repository)

Prints one line per rule ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import hcl2
except ImportError:  # pragma: no cover - the venv of scripts/check-deploy.sh provides it
    sys.exit("python-hcl2 is not installed: run scripts/check-deploy.sh, which sets up its venv")

MODULES = Path("terraform/modules")
ENVS = Path("terraform/envs")


def unquote(v: object) -> object:
    if isinstance(v, str) and len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1]
    return v


class Module:
    """The parsed .tf files of one directory: resources, data, outputs, variables, modules."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.blocks: dict[str, dict[tuple[str, ...], dict]] = {}
        self.text = ""
        for tf in sorted(path.glob("*.tf")):
            self.text += tf.read_text() + "\n"
            with tf.open() as fh:
                doc = hcl2.load(fh)
            for kind, depth in (("resource", 2), ("data", 2), ("output", 1), ("variable", 1), ("module", 1)):
                for block in doc.get(kind, []) or []:
                    for labels, body in _labelled(block, depth):
                        self.blocks.setdefault(kind, {})[labels] = body
            for block in doc.get("locals", []) or []:
                self.blocks.setdefault("locals", {}).update({(k,): v for k, v in block.items() if not k.startswith("__")})

    def resources(self, rtype: str) -> dict[str, dict]:
        return {labels[1]: body for labels, body in self.blocks.get("resource", {}).items() if labels[0] == rtype}

    def get(self, kind: str, *labels: str) -> dict:
        return self.blocks.get(kind, {}).get(tuple(labels), {})


def _labelled(block: dict, depth: int):
    stack = [((), block)]
    while stack:
        labels, node = stack.pop()
        if len(labels) == depth:
            yield labels, node
            continue
        for k, v in node.items():
            if not k.startswith("__"):
                stack.append((labels + (str(unquote(k)),), v))


def first(body: dict, key: str) -> dict:
    v = body.get(key) or [{}]
    return v[0] if isinstance(v, list) else v


def s(v: object) -> str:
    return str(unquote(v)) if v is not None else ""


# ---- rules ------------------------------------------------------------------------------------
# Each takes the root and returns the problems found (empty: the rule holds).

def secret_versions(root: Path) -> list[str]:
    m = Module(root / MODULES / "secrets")
    out = []
    for name in ("secret_arns", "admin_secret_arns"):
        value = s(m.get("output", name).get("value"))
        if "aws_secretsmanager_secret_version." not in value:
            out.append(f"output {name} must name the secret versions (aws_secretsmanager_secret_version), not the secrets: readers would start before the values exist")
    return out


def bootstrap_signals_failure(root: Path) -> list[str]:
    text = (root / MODULES / "render_nodes/user_data.sh.tftpl").read_text()
    out = []
    if not re.search(r"^trap\s+'fail[^']*'\s+ERR", text, re.M):
        out.append("the bootstrap has no ERR trap calling fail: a failed step leaves a node EC2 calls healthy")
    if "set-instance-health" not in text or "--health-status Unhealthy" not in text:
        out.append("the bootstrap never marks the instance Unhealthy on failure")
    for line in text.splitlines():
        if re.search(r"aws secretsmanager get-secret-value|docker pull|dnf install", line) and "retry" not in line:
            out.append(f"not retried: {line.strip()[:80]}")
    return out


def staging_recreatable(root: Path) -> list[str]:
    out = []
    for env in sorted((root / ENVS).iterdir()):
        body = Module(env).get("module", "stream_manager")
        if s(body.get("force_destroy")).lower() == "true" and str(body.get("secret_recovery_window_days")) != "0":
            out.append(f"{env.name}: force_destroy = true but secret_recovery_window_days = {body.get('secret_recovery_window_days')} (the secret names stay taken that many days: no destroy and re-create)")
    return out


def alb_logs_after_policy(root: Path) -> list[str]:
    value = s(Module(root / MODULES / "observability").get("output", "access_logs_bucket").get("value"))
    if "aws_s3_bucket_policy." not in value:
        return ["output access_logs_bucket must come from aws_s3_bucket_policy: the ALB enabling access logs races the bucket policy"]
    return []


def asg_heals(root: Path) -> list[str]:
    m = Module(root / MODULES / "render_nodes")
    asg = m.resources("aws_autoscaling_group").get("this", {})
    out = []
    if s(asg.get("health_check_type")) != "ELB":
        out.append(f"health_check_type is {s(asg.get('health_check_type'))}: the group must act on the target group's /healthz (ELB)")
    if not asg.get("target_group_arns"):
        out.append("the group is in no target group")
    for name, tg in m.resources("aws_lb_target_group").items():
        hc = first(tg, "health_check")
        if s(hc.get("protocol")) != "HTTP" or s(hc.get("path")) != "/healthz":
            out.append(f"target group {name}: health check must be HTTP /healthz on the node's HTTP port")
    return out


def instance_refresh(root: Path) -> list[str]:
    m = Module(root / MODULES / "render_nodes")
    asg = m.resources("aws_autoscaling_group").get("this", {})
    out = []
    if asg.get("instance_refresh"):
        out.append("the group has an instance_refresh block: the AWS provider moves the group to the new version before its refresh starts, so a rollback restores the new version (terraform-provider-aws issue 34189)")
    if "launch_template" not in str(first(asg, "lifecycle").get("ignore_changes", "")):
        out.append("the group must ignore launch_template changes: the refresh moves it, with rollback")
    spec = re.sub(r"\s+", " ", s(m.get("output", "instance_refresh").get("value")))
    if "DesiredConfiguration" not in spec or "latest_version" not in spec:
        out.append("output instance_refresh names no desired configuration (the launch template's new version): nothing to roll back from")
    if "AutoRollback = true" not in spec:
        out.append("the refresh must roll back (AutoRollback = true)")
    if 'ScaleInProtectedInstances = "Refresh"' not in spec:
        out.append("the refresh must replace busy (scale-in protected) nodes too (ScaleInProtectedInstances = Refresh)")
    surge = s(m.get("variable", "instance_refresh_max_healthy_percentage").get("default"))
    if "var.instance_refresh_max_healthy_percentage" not in spec or not surge.isdigit() or int(surge) <= 100:
        out.append(f"MaxHealthyPercentage must be above 100 (new nodes before old ones go), is {surge or 'unset'}")
    deploy = root / "terraform/deploy.sh"
    if not deploy.is_file() or "start-instance-refresh" not in deploy.read_text():
        out.append("terraform/deploy.sh does not start the instance refresh")
    return out


def ami_pinned(root: Path) -> list[str]:
    m = Module(root / MODULES / "render_nodes")
    out = []
    for name, lt in m.resources("aws_launch_template").items():
        image = s(lt.get("image_id"))
        resolved = image
        for local in re.findall(r"local\.(\w+)", image):
            resolved += " " + s(m.get("locals", local))
        if re.search(r"data\.aws_(ssm_parameter|ami)\.", resolved):
            out.append(f"launch template {name}: image_id is read at plan time ({image}): a new AMI rolls the fleet on any apply")
        elif "resolve:ssm:" in resolved:
            out.append(f"launch template {name}: image_id is an SSM parameter: an instance refresh cannot roll back to it")
        elif "var.ami_id" not in resolved:
            out.append(f"launch template {name}: image_id {image} is not the pinned var.ami_id")
    return out


def ecr_protects_deployed(root: Path) -> list[str]:
    reg = Module(root / MODULES / "registry")
    out = []
    if "var.protected_tags" not in reg.text or "tagPatternList" not in reg.text:
        out.append("the registry's lifecycle policy has no rule keeping the deployed tags")
    comp = Module(root / MODULES / "stream_manager").get("module", "registry")
    tags = s(comp.get("protected_tags"))
    deployed = s(Module(root / MODULES / "stream_manager").get("locals", "deployed_tags"))
    if "local.deployed_tags" not in tags or "var.control_plane_image" not in deployed or "var.render_node_image" not in deployed:
        out.append("the composition must pass both deployed image tags as the registry's protected_tags")
    return out


def scale_on_free_slots(root: Path) -> list[str]:
    m = Module(root / MODULES / "render_nodes")
    asg = m.resources("aws_autoscaling_group").get("this", {})
    out = []
    if asg.get("protect_from_scale_in") is not True:
        out.append("protect_from_scale_in must be true: the node agent clears it only while the node holds no stream")
    agent = (root / MODULES / "render_nodes/node_agent.sh").read_text()
    if "set-instance-protection" not in agent or "node_streams" not in agent:
        out.append("the node agent must keep scale-in protection equal to 'holds streams'")
    alarms = m.resources("aws_cloudwatch_metric_alarm")
    if not any(s(a.get("metric_name")) == "FreeSlots" and "aws_autoscaling_policy." in str(a.get("alarm_actions")) for a in alarms.values()):
        out.append("no scaling alarm on the fleet's FreeSlots")
    for name, pol in m.resources("aws_autoscaling_policy").items():
        if "ASGAverageCPUUtilization" in str(pol):
            out.append(f"policy {name} tracks CPU: it scales in arbitrary (busy) nodes")
    return out


def backlog_alarmed(root: Path) -> list[str]:
    m = Module(root / MODULES / "render_nodes")
    out = []
    for name, a in m.resources("aws_cloudwatch_metric_alarm").items():
        dims = str(a.get("dimensions", ""))
        if s(a.get("namespace")) == "AWS/AmazonMQ" and "Queue" in dims:
            out.append(f"alarm {name} uses per-queue Amazon MQ metrics, which RabbitMQ 4 brokers do not publish")
        acts_on_scaling = "aws_autoscaling_policy." in str(a.get("alarm_actions"))
        if s(a.get("metric_name")) in ("JobsReady", "FreeSlots") and (acts_on_scaling or "persists" in name):
            if "in_on" in str(a.get("alarm_actions")):
                continue  # scale-in: missing data must never remove a node
            if s(a.get("treat_missing_data")) == "notBreaching":
                out.append(f"alarm {name}: missing data treated as fine (notBreaching)")
            if not a.get("insufficient_data_actions"):
                out.append(f"alarm {name}: INSUFFICIENT_DATA notifies nobody")
    return out


def control_plane_multivalue(root: Path) -> list[str]:
    m = Module(root / MODULES / "control_plane")
    svc = m.resources("aws_service_discovery_service").get("this", {})
    dns = first(svc, "dns_config")
    rec = first(dns, "dns_records")
    out = []
    if s(dns.get("routing_policy")) != "MULTIVALUE" or s(rec.get("type")) != "A":
        out.append("the nodes' control-plane name must resolve to every task (Cloud Map MULTIVALUE A records)")
    try:
        if int(rec.get("ttl", 60)) > 10:
            out.append(f"TTL {rec.get('ttl')} s: a crashed task's address lingers; keep it at most 10 s")
    except (TypeError, ValueError):
        out.append("dns_records ttl is not a number")
    nodes = Module(root / MODULES / "stream_manager").get("module", "render_nodes")
    if "module.control_plane.internal_url" not in s(nodes.get("control_plane_url")):
        out.append("render nodes must use the Cloud Map name (module.control_plane.internal_url)")
    return out


def waf_redaction(root: Path) -> list[str]:
    cfg = Module(root / MODULES / "control_plane").resources("aws_wafv2_web_acl_logging_configuration").get("this", {})
    fields = str(cfg.get("redacted_fields", ""))
    out = []
    if "authorization" not in fields.lower():
        out.append("WAF logs must redact the Authorization header (tenants' tokens)")
    if "query_string" not in fields:
        out.append("WAF logs must redact query strings (WebSocket ?token=)")
    return out


def no_token_in_logs(root: Path) -> list[str]:
    out = []
    files = [root / "README.md", *sorted((root / "terraform").rglob("*.md")), *sorted((root / "docs").rglob("*.md")), *sorted((root / "terraform").rglob("*.sh"))]
    for f in files:
        if f.is_file() and re.search(r"run-task[\s\S]{0,800}?\"command\"\s*:\s*\[\s*\"token\"", f.read_text()):
            out.append(f"{f.relative_to(root)} runs `control-plane token` as an ECS task: the token lands in CloudWatch Logs")
    return out


def otlp_egress(root: Path) -> list[str]:
    m = Module(root / MODULES / "control_plane")
    rules = [r for r in m.resources("aws_vpc_security_group_egress_rule").values() if "var.otlp_egress" in str(r)]
    out = []
    if not rules:
        out.append("the control plane has no egress rule for OTLP (traces to a collector time out)")
    comp = Module(root / MODULES / "stream_manager").get("module", "control_plane")
    if "otlp_egress" not in comp:
        out.append("the composition does not pass otlp_egress to the control plane")
    return out


def migrate_first(root: Path) -> list[str]:
    m = Module(root / MODULES / "control_plane")
    out = []
    if not any('["migrate"]' in re.sub(r"\s+", "", str(td.get("container_definitions"))).replace("'", '"') for td in m.resources("aws_ecs_task_definition").values()):
        out.append("no one-off task definition runs `control-plane migrate`")
    deploy = root / "terraform/deploy.sh"
    if not deploy.is_file():
        out.append("terraform/deploy.sh (migrate before the service update) is missing")
    return out


def least_privilege(root: Path) -> list[str]:
    sec = Module(root / MODULES / "secrets")
    values = sec.get("locals", "values")
    out = []
    db = s(values.get("DATABASE_URL"))
    if "var.database_app_username" not in db:
        out.append("DATABASE_URL must use the application user, not the RDS master")
    amqp = s(values.get("AMQP_URL"))
    if "var.amqp_app_username" not in amqp:
        out.append("AMQP_URL must use the application user, not the broker admin")
    cp = Module(root / MODULES / "control_plane")
    svc_td = cp.resources("aws_ecs_task_definition").get("this", {})
    if "admin_secret_arns" in str(svc_td):
        out.append("the service's task definition reads admin secrets")
    broker = Module(root / MODULES / "rabbitmq").resources("aws_mq_broker").get("this", {})
    if "user" not in str(first(broker, "lifecycle").get("ignore_changes", "")):
        out.append("aws_mq_broker must ignore changes to `user` (Amazon MQ cannot update RabbitMQ users; -replace would rebuild the broker)")
    redis = Module(root / MODULES / "redis").resources("aws_elasticache_replication_group").get("this", {})
    if not redis.get("auth_token_update_strategy"):
        out.append("ElastiCache auth_token has no update strategy (ROTATE keeps the old token valid while services roll)")
    return out


def vpc_s3_endpoint(root: Path) -> list[str]:
    eps = Module(root / MODULES / "network").resources("aws_vpc_endpoint")
    if not any(s(e.get("vpc_endpoint_type")) == "Gateway" and "s3" in s(e.get("service_name")) for e in eps.values()):
        return ["no S3 gateway endpoint: image layers and logs go through the NAT gateways"]
    return []


DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _weekly(window: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\w{3}):(\d\d):(\d\d)-(\w{3}):(\d\d):(\d\d)", window)
    if not m:
        raise ValueError(window)
    a = DAYS.index(m.group(1).lower()) * 1440 + int(m.group(2)) * 60 + int(m.group(3))
    b = DAYS.index(m.group(4).lower()) * 1440 + int(m.group(5)) * 60 + int(m.group(6))
    return a, b


def staggered_windows(root: Path) -> list[str]:
    def default(module: str, var: str) -> str:
        return s(Module(root / MODULES / module).get("variable", var).get("default"))

    try:
        windows = {
            "postgres maintenance": _weekly(default("postgres", "maintenance_window")),
            "redis maintenance": _weekly(default("redis", "maintenance_window")),
        }
        day = default("rabbitmq", "maintenance_day")[:3].lower()
        hh, mm = default("rabbitmq", "maintenance_time").split(":")
        start = DAYS.index(day) * 1440 + int(hh) * 60 + int(mm)
        windows["rabbitmq maintenance (2 h)"] = (start, start + 120)
    except (ValueError, IndexError) as e:
        return [f"a maintenance window does not parse: {e}"]
    out = []
    names = sorted(windows)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (a0, a1), (b0, b1) = windows[a], windows[b]
            if a0 < b1 and b0 < a1:
                out.append(f"{a} overlaps {b}")
    return out


def lock_files(root: Path) -> list[str]:
    out = []
    for env in sorted((root / ENVS).iterdir()):
        lock = env / ".terraform.lock.hcl"
        if not lock.is_file():
            out.append(f"{env.name}: no .terraform.lock.hcl (providers float between applies)")
            continue
        text = lock.read_text()
        wanted = set(re.findall(r'source\s*=\s*"([\w-]+/[\w-]+)"', (env / "versions.tf").read_text()))
        for source in sorted(wanted):
            m = re.search(r'provider "registry\.terraform\.io/' + re.escape(source) + r'" \{(.*?)\n\}', text, re.S)
            if not m or not re.search(r'version\s*=\s*"\d+\.\d+\.\d+"', m.group(1)) or '"zh:' not in m.group(1):
                out.append(f"{env.name}: the lock file pins no version with hashes for {source}")
    return out


def datastore_alarms(root: Path) -> list[str]:
    out = []
    for module in ("postgres", "redis", "rabbitmq"):
        alarms = Module(root / MODULES / module).resources("aws_cloudwatch_metric_alarm")
        if not alarms or not all(a.get("insufficient_data_actions") for a in alarms.values()):
            out.append(f"{module}: health alarms missing, or silent on INSUFFICIENT_DATA")
    return out


def prometheus_wired(root: Path) -> list[str]:
    comp = Module(root / MODULES / "stream_manager").get("module", "prometheus")
    rules = s(comp.get("alert_rules_file"))
    out = []
    if not comp:
        out.append("the composition has no Prometheus (module prometheus)")
    elif "monitoring/prometheus/alerts.yml" not in rules:
        out.append("Amazon Managed Prometheus must load monitoring/prometheus/alerts.yml")
    return out


RULES = [
    ("first apply: consumers wait for the secret versions", secret_versions),
    ("first apply: the node bootstrap retries and marks a failed node unhealthy", bootstrap_signals_failure),
    ("first apply: an environment that can be destroyed can be re-created (secret recovery window 0)", staging_recreatable),
    ("first apply: ALB access logs wait for the bucket policy", alb_logs_after_policy),
    ("healing: the group replaces nodes failing /healthz (health check type ELB)", asg_heals),
    ("healing: instance refresh to the new version with rollback, surge above 100 %, busy nodes too", instance_refresh),
    ("healing: the AMI is pinned by ID (never read at plan time; rollback needs an ID)", ami_pinned),
    ("healing: ECR never expires a deployed tag", ecr_protects_deployed),
    ("scaling: on free slots; scale-in only empty nodes (scale-in protection)", scale_on_free_slots),
    ("scaling: the backlog signal works on RabbitMQ 4 and INSUFFICIENT_DATA is alarmed", backlog_alarmed),
    ("reachability: nodes resolve every control-plane task (MULTIVALUE A, short TTL)", control_plane_multivalue),
    ("secrets: WAF logs redact Authorization and query strings", waf_redaction),
    ("secrets: no tenant token printed to CloudWatch", no_token_in_logs),
    ("secrets: OTLP egress allowed when a collector is configured", otlp_egress),
    ("least privilege: application users, admin secrets kept from the services, rotation without replacement", least_privilege),
    ("pinning: provider lock files committed", lock_files),
    ("migrations: a one-off migrate task runs before the service update", migrate_first),
    ("operator kit: S3 gateway endpoint", vpc_s3_endpoint),
    ("operator kit: staggered maintenance windows", staggered_windows),
    ("operator kit: data-store health alarms", datastore_alarms),
    ("operator kit: Prometheus wired in Terraform with the repository's alert rules", prometheus_wired),
]


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    passed = failed = 0
    for what, rule in RULES:
        try:
            problems = rule(root)
        except (OSError, KeyError, ValueError) as e:  # a missing file or block is a failure
            problems = [f"{type(e).__name__}: {e}"]
        if problems:
            failed += 1
            print(f"FAIL {what}: {'; '.join(problems)}")
        else:
            passed += 1
            print(f"ok   {what}")
    print(f"RESULT passed={passed} failed={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
