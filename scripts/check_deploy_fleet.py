#!/usr/bin/env python3
"""The fleet's deploy contracts with the code, read statically: what the render node and the
services need from the deployment (METRICS_TOKEN for the scrapers, the SRT ingest port, the
data stores' cluster modes) is really provided by terraform/ and the compose stack's
Prometheus. scripts/test-check-deploy.sh breaks each one in a copy and proves it fails.

  metrics-token  a secret METRICS_TOKEN, read by the render nodes and injected into the ADOT
                 collector, whose render-node scrape job sends it as a bearer token; the compose
                 Prometheus's render-node job sends the token the compose nodes are given
  srt-ingest     a UDP listener on the ingest load balancer (port variable, default 9000) to a
                 UDP target group the node group registers in, the security-group rules on both
                 sides, and the node's SRT_ADDR and published UDP port
  images         every image Terraform runs by default (the ADOT collector) is pinned like the
                 Dockerfiles' bases: a MAJOR.MINOR[.PATCH] tag or a digest, never `latest`
  sizing         variables that express a 10,000- and 100,000-stream fleet: ElastiCache cluster
                 mode (shards, replicas per shard) with a cluster REDIS_URL, Amazon MQ cluster,
                 control-plane tasks, Postgres class, each documented in terraform/README.md

Usage: check_deploy_fleet.py [ROOT]   (ROOT defaults to the repository)
Prints one line per contract ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_deploy_rules import MODULES, Module, first, s  # noqa: E402
from check_dockerfiles import unpinned_reason  # noqa: E402
from check_report import Report  # noqa: E402


def _jobs(scrape_configs: object, name: str) -> list[dict]:
    return [j for j in scrape_configs or [] if isinstance(j, dict) and s(j.get("job_name")) == name]


def _bearer(job: dict) -> str:
    """The bearer credentials a scrape job sends ('' when none)."""
    auth = job.get("authorization") or {}
    if isinstance(auth, list):
        auth = auth[0] if auth else {}
    if s(auth.get("type") or "Bearer").lower() != "bearer":
        return ""
    return s(auth.get("credentials")) or s(auth.get("credentials_file"))


def metrics_token(root: Path) -> list[str]:
    out = []
    secrets = Module(root / MODULES / "secrets")
    if "METRICS_TOKEN" not in s(secrets.get("locals", "values")) or not secrets.get("output", "metrics_token_arn"):
        out.append("the secrets module must generate METRICS_TOKEN and output metrics_token_arn (from its version)")
    nodes = Module(root / MODULES / "render_nodes")
    if "METRICS_TOKEN" not in s(nodes.get("locals", "node_secret_arns")):
        out.append("render nodes: METRICS_TOKEN is not among the secrets the bootstrap writes to the node's environment")
    prom = Module(root / MODULES / "prometheus")
    config = prom.get("locals", "collector_config")
    jobs = _jobs(config.get("receivers", {}).get("prometheus", {}).get("config", {}).get("scrape_configs"), "render-node")
    if not jobs:
        out.append("the ADOT collector has no render-node scrape job")
    for job in jobs:
        if "env:METRICS_TOKEN" not in _bearer(job):
            out.append("the collector's render-node job sends no bearer token from ${env:METRICS_TOKEN}: the per-stream series are never scraped")
    task = s(prom.resources("aws_ecs_task_definition").get("collector", {}).get("container_definitions"))
    if not re.search(r'secrets\s*=\s*\[[^\]]*name\s*=\s*"METRICS_TOKEN"\s*,\s*valueFrom\s*=\s*var\.metrics_token_secret_arn', task):
        out.append("the collector's container is not given METRICS_TOKEN from Secrets Manager (ECS secrets)")
    comp = Module(root / MODULES / "stream_manager")
    for module in ("render_nodes", "prometheus"):
        if "metrics_token" not in s(comp.get("module", module).get("metrics_token_secret_arn")):
            out.append(f"the composition does not pass METRICS_TOKEN's secret to module {module}")
    return out + compose_metrics_token(root)


def compose_metrics_token(root: Path) -> list[str]:
    compose = yaml.safe_load((root / "docker/compose.yaml").read_text()) or {}
    prom = yaml.safe_load((root / "monitoring/prometheus/prometheus.yml").read_text()) or {}
    tokens = {
        name: str((svc.get("environment") or {}).get("METRICS_TOKEN", ""))
        for name, svc in (compose.get("services") or {}).items()
        if isinstance(svc, dict) and "render-node" in str(svc.get("image", ""))
    }
    out = []
    if not tokens:
        return ["docker/compose.yaml has no render-node service"]
    jobs = _jobs(prom.get("scrape_configs"), "render-node")
    if not jobs:
        out.append("monitoring/prometheus/prometheus.yml has no render-node job")
    for job in jobs:
        sent = _bearer(job)
        for name, token in tokens.items():
            if not token:
                out.append(f"compose {name} has no METRICS_TOKEN: its per-stream series are served to nobody")
            elif sent != token:
                out.append(f"the compose Prometheus's render-node job does not send {name}'s METRICS_TOKEN as its bearer token")
    return out


def srt_ingest(root: Path) -> list[str]:
    m = Module(root / MODULES / "render_nodes")
    out = []
    variable = m.get("variable", "srt_port")
    if str(variable.get("default")) != "9000":
        out.append("variable srt_port (default 9000) is missing")
    listeners = [b for b in m.resources("aws_lb_listener").values() if s(b.get("protocol")) == "UDP" and "var.srt_port" in s(b.get("port"))]
    if not listeners:
        out.append("the ingest load balancer has no UDP listener on var.srt_port")
    groups = {n: b for n, b in m.resources("aws_lb_target_group").items() if s(b.get("protocol")) == "UDP" and "var.srt_port" in s(b.get("port"))}
    forwarded = {n for n in groups for li in listeners if f"aws_lb_target_group.{n}.arn" in s(first(li, "default_action").get("target_group_arn"))}
    if not forwarded:
        out.append("no UDP listener forwards to a UDP target group on var.srt_port")
    asg = m.resources("aws_autoscaling_group").get("this", {})
    if not any(f"aws_lb_target_group.{n}.arn" in s(asg.get("target_group_arns")) for n in forwarded):
        out.append("the node group is not registered in the SRT target group")

    def udp_rule(kind: str, sg: str) -> bool:
        return any(
            s(r.get("ip_protocol")) == "udp"
            and "var.srt_port" in s(r.get("from_port"))
            and "var.srt_port" in s(r.get("to_port"))
            and f"aws_security_group.{sg}.id" in s(r.get("security_group_id"))
            for r in m.resources(f"aws_vpc_security_group_{kind}_rule").values()
        )

    if not udp_rule("ingress", "this"):
        out.append("the nodes' security group admits no UDP on var.srt_port")
    if not udp_rule("ingress", "ingest_lb"):
        out.append("the ingest load balancer's security group admits no UDP on var.srt_port from the encoders")
    if not udp_rule("egress", "ingest_lb"):
        out.append("the ingest load balancer's security group may not send UDP on var.srt_port to the nodes")
    boot = (root / MODULES / "render_nodes/user_data.sh.tftpl").read_text()
    if not re.search(r"SRT_ADDR=0\.0\.0\.0:\$\{srt_port\}", boot):
        out.append("the bootstrap sets no SRT_ADDR=0.0.0.0:${srt_port} for the node")
    if not re.search(r"-p \$\{srt_port\}:\$\{srt_port\}/udp", boot):
        out.append("the container does not publish ${srt_port}/udp")
    return out


def images_pinned(root: Path) -> list[str]:
    out = []
    for module in sorted((root / MODULES).iterdir()):
        for (name,), body in Module(module).blocks.get("variable", {}).items():
            default = s(body.get("default"))
            if (name == "image" or name.endswith("_image")) and default:
                why = unpinned_reason(default)
                if why:
                    out.append(f"{module.name}: variable {name} = {default}: {why}")
    return out


def sizing(root: Path) -> list[str]:
    out = []
    redis = Module(root / MODULES / "redis")
    group = redis.resources("aws_elasticache_replication_group").get("this", {})
    for arg, var in (("num_node_groups", "num_shards"), ("replicas_per_node_group", "replicas_per_shard")):
        if f"var.{var}" not in s(group.get(arg)) or "var.cluster_mode" not in s(group.get(arg)):
            out.append(f"redis: {arg} must follow var.{var} in cluster mode")
    if "cluster.on" not in s(group.get("parameter_group_name")):
        out.append("redis: cluster mode needs a cluster.on parameter group")
    if "configuration_endpoint_address" not in s(redis.get("output", "endpoint_address").get("value")):
        out.append("redis: output endpoint_address must be the configuration endpoint in cluster mode")
    secrets = Module(root / MODULES / "secrets")
    redis_url = s(secrets.get("locals", "values").get("REDIS_URL"))
    scheme = s(secrets.get("locals", "redis_scheme"))
    if "+cluster" not in scheme or "local.redis_scheme" not in redis_url:
        out.append("secrets: REDIS_URL must use a +cluster scheme in cluster mode (the services' cluster client)")
    comp = Module(root / MODULES / "stream_manager")
    knobs = ["redis_cluster_mode", "redis_num_shards", "redis_replicas_per_shard", "rabbitmq_deployment_mode",
             "rabbitmq_instance_type", "control_plane_min_tasks", "control_plane_max_tasks", "postgres_instance_class"]
    readme = (root / "terraform/README.md").read_text()
    for knob in knobs:
        if not comp.get("variable", knob):
            out.append(f"the composition has no variable {knob}")
        elif f"`{knob}`" not in readme:
            out.append(f"terraform/README.md does not document {knob}")
    if "CLUSTER_MULTI_AZ" not in s(comp.get("variable", "rabbitmq_deployment_mode").get("validation")):
        out.append("rabbitmq_deployment_mode must be validated (SINGLE_INSTANCE or CLUSTER_MULTI_AZ)")
    return out


CONTRACTS = [
    ("metrics token: a secret for the nodes, sent as the bearer token of every render-node scrape (AWS and compose)", metrics_token),
    ("SRT ingest: UDP listener, target group and security-group rules on srt_port; SRT_ADDR on the node", srt_ingest),
    ("images: every image Terraform runs by default is pinned (version tag or digest)", images_pinned),
    ("sizing: ElastiCache cluster mode, Amazon MQ cluster, control-plane tasks, Postgres class as documented variables", sizing),
]


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    report = Report()
    for what, contract in CONTRACTS:
        try:
            problems = contract(root)
        except (OSError, KeyError, ValueError, AttributeError, yaml.YAMLError) as e:
            problems = [f"{type(e).__name__}: {e}"]
        report.check(not problems, what, "; ".join(problems))
    print(f"RESULT passed={report.passed} failed={report.failed}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
