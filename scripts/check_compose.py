#!/usr/bin/env python3
"""Offline checks of docker/compose.yaml, called by check_dockerfiles.py (which owns the
report and the image-pinning rule):
  - parses; every service has an image or a build; build contexts and dockerfiles exist
    and the dockerfile is one of the checked ones; bind-mounted files and env_files exist;
    depends_on names services; no host port is published twice;
  - every image pulled is pinned (MAJOR.MINOR tag or digest); every published port binds
    127.0.0.1 (or ${BIND_ADDR:-127.0.0.1}, which an operator opens on purpose);
  - JWT_SECRET and NODE_SECRET are required (`${VAR:?...}`), never a published default;
  - a `migrate` service runs `control-plane migrate`, and every control-plane replica waits
    for it to complete successfully;
  - Prometheus mounts monitoring/prometheus/ and Grafana the provisioning and dashboards.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

try:
    import yaml
except ImportError:  # pragma: no cover - the venv of scripts/check-deploy.sh provides it
    sys.exit("PyYAML is not installed: run scripts/check-deploy.sh, which sets up its venv")


def check_compose(compose_file: Path, root: Path, dockerfiles: set[Path], report, unpinned_reason: Callable[[str], str]) -> dict[Path, Path]:
    """Checks the compose file; returns dockerfile -> build context of the services."""
    rel = compose_file.relative_to(root)
    contexts: dict[Path, Path] = {}
    try:
        doc = yaml.safe_load(compose_file.read_text())
    except yaml.YAMLError as e:
        report.check(False, f"{rel}: parses", str(e).splitlines()[0])
        return contexts
    ok = isinstance(doc, dict) and isinstance(doc.get("services"), dict) and bool(doc["services"])
    report.check(ok, f"{rel}: parses and has services")
    if not ok:
        return contexts
    base = compose_file.parent
    services: dict = doc["services"]
    problems: list[str] = []
    ports: dict[str, str] = {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            problems.append(f"{name}: not a mapping")
            continue
        if "image" not in svc and "build" not in svc:
            problems.append(f"{name}: neither image nor build")
        build = svc.get("build")
        if build is not None:
            ctx_str = build if isinstance(build, str) else build.get("context", ".")
            ctx = (base / ctx_str).resolve()
            if not ctx.is_dir():
                problems.append(f"{name}: build context {ctx_str} does not exist")
            else:
                df_str = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
                df = (ctx / df_str).resolve()
                if not df.is_file():
                    problems.append(f"{name}: dockerfile {df_str} not found in context {ctx_str}")
                else:
                    contexts[df] = ctx
                    if df not in dockerfiles:
                        problems.append(f"{name}: dockerfile {df_str} is outside docker/ (not checked)")
        for vol in svc.get("volumes", []) or []:
            source = vol.split(":", 1)[0] if isinstance(vol, str) else (vol.get("source") if vol.get("type") == "bind" else None)
            if source and (source.startswith((".", "/", "~"))):
                if not (base / source).exists():
                    problems.append(f"{name}: mounted {source} does not exist")
        env_files = svc.get("env_file", [])
        for ef in [env_files] if isinstance(env_files, str) else env_files or []:
            path = ef if isinstance(ef, str) else ef.get("path")
            required = True if isinstance(ef, str) else ef.get("required", True)
            if path and required and not (base / path).exists():
                problems.append(f"{name}: env_file {path} does not exist")
        deps = svc.get("depends_on", [])
        for dep in deps if isinstance(deps, list) else list(deps or {}):
            if dep not in services:
                problems.append(f"{name}: depends_on {dep}, which is no service")
        for port in svc.get("ports", []) or []:
            spec = str(port) if not isinstance(port, dict) else f"{port.get('host_ip', '')}:{port.get('published', '')}"
            parts = spec.split(":")
            if len(parts) >= 2:
                host = ":".join(parts[:-1])
                if host in ports:
                    problems.append(f"{name}: host port {host} also published by {ports[host]}")
                ports[host] = name
    for key in ("configs", "secrets"):
        for cname, conf in (doc.get(key) or {}).items():
            if isinstance(conf, dict) and "file" in conf and not (base / conf["file"]).exists():
                problems.append(f"{key}.{cname}: file {conf['file']} does not exist")
    report.check(not problems, f"{rel}: references only files and services that exist ({len(services)} services)", "; ".join(problems))
    check_compose_policy(rel, services, report, unpinned_reason)
    return contexts


LOCAL_BINDS = ("127.0.0.1:", "${BIND_ADDR:-127.0.0.1}:")
REQUIRED_SECRETS = ("JWT_SECRET", "NODE_SECRET")


def env_of(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {str(k): str(v) for k, v in env.items()}


def check_compose_policy(rel: Path, services: dict, report, unpinned_reason: Callable[[str], str]) -> None:
    unpinned, exposed, weak = [], [], []
    for name, svc in services.items():
        if not isinstance(svc, dict):
            continue
        image = str(svc.get("image", ""))
        if image and "build" not in svc:
            why = unpinned_reason(image)
            if why:
                unpinned.append(f"{name}: {image}: {why}")
        for port in svc.get("ports", []) or []:
            spec = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published', '')}:{port.get('target', '')}"
            if not str(spec).startswith(LOCAL_BINDS):
                exposed.append(f"{name}: {spec}")
        for key, value in env_of(svc).items():
            if key in REQUIRED_SECRETS and not re.fullmatch(r"\$\{" + key + r":\?[^}]*\}", value):
                weak.append(f"{name}: {key}={value}")
    report.check(not unpinned, f"{rel}: every pulled image is pinned", "; ".join(unpinned))
    report.check(not exposed, f"{rel}: every published port binds 127.0.0.1", "; ".join(exposed))
    holders = [n for n, s in services.items() if isinstance(s, dict) and any(k in REQUIRED_SECRETS for k in env_of(s))]
    report.check(
        not weak and bool(holders),
        f"{rel}: {' and '.join(REQUIRED_SECRETS)} are required, with no default ({len(holders)} services)",
        "; ".join(weak) or "no service sets them",
    )

    # Migrations run once, before the replicas.
    def is_control_plane(svc: dict) -> bool:
        build = svc.get("build")
        dockerfile = build.get("dockerfile", "") if isinstance(build, dict) else ""
        return dockerfile.endswith("control-plane.Dockerfile")

    migrate = services.get("migrate")
    order: list[str] = []
    if not isinstance(migrate, dict) or list(migrate.get("command") or []) != ["migrate"] or not is_control_plane(migrate):
        order.append("no `migrate` service running the control-plane image with command [migrate]")
    replicas = [n for n, s in services.items() if isinstance(s, dict) and n != "migrate" and is_control_plane(s)]
    for name in replicas:
        deps = services[name].get("depends_on") or {}
        cond = deps.get("migrate", {}).get("condition") if isinstance(deps, dict) else None
        if cond != "service_completed_successfully":
            order.append(f"{name} does not wait for migrate (depends_on migrate: condition service_completed_successfully)")
    report.check(not order and bool(replicas), f"{rel}: migrate runs before the {len(replicas)} control-plane replicas", "; ".join(order) or "no replica")

    mounts = []
    for name, want in (("prometheus", "monitoring/prometheus/prometheus.yml"), ("grafana", "monitoring/grafana/provisioning"), ("grafana", "monitoring/grafana/dashboards")):
        vols = [v if isinstance(v, str) else str(v.get("source", "")) for v in (services.get(name, {}) or {}).get("volumes", []) or []]
        if not any(want in v for v in vols):
            mounts.append(f"{name} does not mount {want}")
    report.check(not mounts, f"{rel}: Prometheus and Grafana load monitoring/", "; ".join(mounts))
