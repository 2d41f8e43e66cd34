#!/usr/bin/env python3
"""The compose stack's Prometheus scrapes both binaries: Debian's prometheus runs with the
application jobs of monitoring/prometheus/prometheus.yml (same paths, timeouts and rule files;
only the targets are the local processes' addresses and the interval is 5 s to be quick)
against a control plane and a render node built from this tree and started on free ports, as
tests/e2e/run.sh starts them; both targets must be `up`, both must expose samples, and the
server must load and evaluate the alert rules.

Usage: check_scrape.py [ROOT]   (ROOT defaults to the repository)
Needs cargo (builds `-p control-plane -p render-node` into $CARGO_TARGET_DIR or ROOT/target;
SCRAPE_BIN_DIR names a directory of built binaries instead),
Postgres (SCRAPE_ADMIN_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test: a
scratch database is created and dropped), Redis and RabbitMQ on their default local ports
(REDIS_URL, AMQP_URL), and prometheus (scripts/install-deploy-tools.sh).

Prints one line per check ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from check_report import Report

try:
    import yaml
except ImportError:  # pragma: no cover - the venv of scripts/check-deploy.sh provides it
    sys.exit("PyYAML is not installed: run scripts/check-deploy.sh, which sets up its venv")

APP_JOBS = ("control-plane", "render-node")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 3) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except OSError as e:
        return getattr(e, "code", 0) or 0, str(e)


def wait_for(what: str, proc: subprocess.Popen, log: Path, seconds: float, probe) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"{what} exited ({proc.returncode}): {log.read_text()[-1500:]}"
        if probe():
            return ""
        time.sleep(0.5)
    return f"{what} not ready within {seconds:.0f} s: {log.read_text()[-1500:]}"


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    report = Report()
    check = report.check

    def finish() -> int:
        print(f"RESULT passed={report.passed} failed={report.failed}")
        return 1 if report.failed else 0

    config = yaml.safe_load((root / "monitoring/prometheus/prometheus.yml").read_text()) or {}
    jobs = {j.get("job_name"): j for j in config.get("scrape_configs", [])}
    if not check(all(j in jobs for j in APP_JOBS), f"prometheus.yml has the jobs {', '.join(APP_JOBS)}", f"it has {sorted(jobs)}"):
        return finish()

    # SCRAPE_BIN_DIR: binaries built already (the self-test checks broken configurations with
    # the repository's binaries instead of rebuilding a copy of the workspace).
    if os.environ.get("SCRAPE_BIN_DIR"):
        bin_dir = Path(os.environ["SCRAPE_BIN_DIR"])
    else:
        target_dir = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
        env = dict(os.environ, SQLX_OFFLINE="true", CARGO_TARGET_DIR=str(target_dir))
        build = subprocess.run(["cargo", "build", "-q", "-p", "control-plane", "-p", "render-node"],
                               cwd=root, env=env, capture_output=True, text=True)
        if not check(build.returncode == 0, "cargo build -p control-plane -p render-node", build.stderr[-2000:]):
            return finish()
        bin_dir = target_dir / "debug"

    suffix = secrets.token_hex(4)
    admin = os.environ.get("SCRAPE_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    db = f"sm_scrape_{suffix}"
    created = subprocess.run(["psql", admin, "-qXc", f"CREATE DATABASE {db}"], capture_output=True, text=True)
    if not check(created.returncode == 0, "a scratch database", created.stderr.strip()):
        return finish()

    procs: list[subprocess.Popen] = []
    work = Path(tempfile.mkdtemp(prefix="scrape-"))
    try:
        api, metrics, rtsp, prom_port = free_port(), free_port(), free_port(), free_port()
        common = dict(
            os.environ,
            SM_NAMESPACE=f"scrape-{suffix}.",
            NODE_SECRET=f"scrape-node-{secrets.token_hex(16)}",
            RUST_LOG="warn",
            ALLOW_PRIVATE_MEDIA_URLS="true",
        )
        cp_log = work / "control-plane.log"
        cp = subprocess.Popen(
            [str(bin_dir / "control-plane")],
            env=dict(common, DATABASE_URL=f"{admin.rsplit('/', 1)[0]}/{db}", HTTP_ADDR=f"127.0.0.1:{api}",
                     JWT_SECRET=f"scrape-{secrets.token_hex(16)}"),
            stdout=cp_log.open("w"), stderr=subprocess.STDOUT,
        )
        procs.append(cp)
        why = wait_for("the control plane", cp, cp_log, 120, lambda: get(f"http://127.0.0.1:{api}/readyz")[0] == 200)
        if not check(not why, f"control plane ready on 127.0.0.1:{api}", why):
            return finish()

        node_log = work / "render-node.log"
        node = subprocess.Popen(
            [str(bin_dir / "render-node"), "serve"],
            env=dict(common, NODE_ID=f"scrape-{suffix}", NODE_CAPACITY="1", CONTROL_PLANE_URL=f"http://127.0.0.1:{api}",
                     METRICS_ADDR=f"127.0.0.1:{metrics}", RTSP_ADDR=f"127.0.0.1:{rtsp}", INGEST_ADDR="off"),
            stdout=node_log.open("w"), stderr=subprocess.STDOUT,
        )
        procs.append(node)
        why = wait_for("the render node", node, node_log, 90, lambda: get(f"http://127.0.0.1:{metrics}/healthz")[0] == 200)
        if not check(not why, f"render node ready on 127.0.0.1:{metrics}", why):
            return finish()

        # The compose jobs, pointed at the local processes; rule files by absolute path.
        local = {"control-plane": [f"127.0.0.1:{api}"], "render-node": [f"127.0.0.1:{metrics}"]}
        test_config = {
            "global": dict(config.get("global", {}), scrape_interval="5s", evaluation_interval="5s"),
            "rule_files": [str(root / "monitoring/prometheus" / f) for f in config.get("rule_files", [])],
            "scrape_configs": [
                dict(jobs[name], scrape_interval="5s", static_configs=[{"targets": local[name]}]) for name in APP_JOBS
            ],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(test_config))
        prom_log = work / "prometheus.log"
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=prom_log.open("w"), stderr=subprocess.STDOUT,
        )
        procs.append(prom)
        base = f"http://127.0.0.1:{prom_port}"
        why = wait_for("prometheus", prom, prom_log, 60, lambda: get(f"{base}/-/ready")[0] == 200)
        if not check(not why, "prometheus ready with the compose jobs and rule files", why):
            return finish()

        health: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, body = get(f"{base}/api/v1/targets")
            try:
                targets = json.loads(body)["data"]["activeTargets"]
            except (ValueError, KeyError):
                targets = []
            health = {t["labels"].get("job"): t.get("health") + (f" ({t.get('lastError')})" if t.get("lastError") else "") for t in targets}
            if all(health.get(j) == "up" for j in APP_JOBS):
                break
            time.sleep(1)
        for job in APP_JOBS:
            check(health.get(job) == "up", f"target {job} is up", health.get(job, "not discovered"))

        for job in APP_JOBS:
            _, body = get(f"{base}/api/v1/query?query=" + urllib.request.quote(f'count({{job="{job}",__name__!~"up|scrape_.*"}})'))
            try:
                samples = int(float(json.loads(body)["data"]["result"][0]["value"][1]))
            except (ValueError, KeyError, IndexError):
                samples = 0
            check(samples > 0, f"{job} exposes {samples} series")

        _, body = get(f"{base}/api/v1/rules")
        try:
            groups = json.loads(body)["data"]["groups"]
        except (ValueError, KeyError):
            groups = []
        broken = [r["name"] for g in groups for r in g.get("rules", []) if r.get("health") not in ("ok", "unknown")]
        check(bool(groups) and not broken, f"the server loaded {len(groups)} rule groups and evaluates them", ", ".join(broken) or "no groups")
    finally:
        for p in reversed(procs):
            stop(p)
        subprocess.run(["psql", admin, "-qXc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], capture_output=True)
        if report.failed:
            print(f"note logs kept in {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
