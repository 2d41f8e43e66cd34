#!/usr/bin/env python3
"""Checks of monitoring/: the Prometheus configuration and alert rules, the Grafana dashboard,
and their agreement with the metrics the code exports and the runbooks.

Usage: check_monitoring.py [ROOT]   (ROOT defaults to the repository; needs promtool and PyYAML)

  - `promtool check rules` on every rule file, `promtool test rules` on every *.test.yml (the
    alerts fire on the failures they name and stay quiet otherwise), `promtool check config`
    on prometheus.yml (its rule files included);
  - every alert has a severity and a `runbook` annotation naming a file of docs/runbooks/;
  - the Grafana dashboard is well formed: uid, title, unique panel ids, panels inside the
    24-column grid, every query on the provisioned data source's uid, every query parses
    (each is checked as a recording rule by promtool);
  - every metric a rule or a panel queries is in the agreed list (monitoring/metrics.txt, with
    a histogram's _bucket/_sum/_count), Prometheus' own `up`, or, for the local stack's
    data-store rules and panels only, an exporter's (pg_, redis_, rabbitmq_); the rules that
    Amazon Managed Prometheus loads (alerts.yml) use no exporter metric;
  - the code registers every agreed name (a `metrics` macro or the render node's registry);
    DEPLOY_METRICS_STRICT=0 only lists the missing ones, for a branch in the middle of a rename;
  - the ADOT collector in Terraform scrapes the same application jobs as prometheus.yml.

Prints one line per check ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from check_report import Report

try:
    import yaml
except ImportError:  # pragma: no cover - the venv of scripts/check-deploy.sh provides it
    sys.exit("PyYAML is not installed: run scripts/check-deploy.sh, which sets up its venv")

PROM = Path("monitoring/prometheus")
DASHBOARDS = Path("monitoring/grafana/dashboards")
DATASOURCES = Path("monitoring/grafana/provisioning/datasources")
CONTRACT = Path("monitoring/metrics.txt")
RUNBOOKS = Path("docs/runbooks")
COLLECTOR = Path("terraform/modules/prometheus/main.tf")
AWS_RULES = "alerts.yml"
EXPORTER_PREFIXES = ("pg_", "redis_", "rabbitmq_")
APP_JOBS = ("control-plane", "render-node")
CODE_DIRS = ("control-plane/src", "render-node/src", "shared/src")

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan", "le", "atan2",
}
# The `metrics` macros, and the render node's per-node registry (`m.gauge("name")`), which
# lets several simulated nodes share one process.
METRIC_CALL = re.compile(r'(?:\b(?:gauge|counter|histogram)!|\.(?:gauge|counter|histogram))\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')
HIST_SUFFIXES = ("_bucket", "_sum", "_count")


def promtool(*args: str) -> tuple[int, str]:
    try:
        p = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, f"promtool: {e}"
    return p.returncode, (p.stdout + p.stderr).strip()


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a scan, not a parser: promtool parses)."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)          # string literals
    text = re.sub(r"\{[^}]*\}", "", text)                     # label matchers
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)                    # range and subquery windows
    names = set()
    for m in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in KEYWORDS or re.fullmatch(r"\d.*", name):
            continue
        names.add(name)
    return names


def contract(root: Path) -> dict[str, str]:
    out = {}
    for line in (root / CONTRACT).read_text().splitlines():
        words = line.split()
        if words and not line.startswith("#"):
            out[words[0]] = words[1]
    return out


def code_metrics(root: Path) -> set[str]:
    names: set[str] = set()
    for d in CODE_DIRS:
        for rs in (root / d).rglob("*.rs") if (root / d).is_dir() else []:
            names.update(METRIC_CALL.findall(rs.read_text()))
    return names


def known(name: str, agreed: dict[str, str]) -> bool:
    if name in agreed or name == "up":
        return True
    for suffix in HIST_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and agreed.get(base) == "histogram":
            return True
    return False


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    report = Report()
    prom = root / PROM
    agreed = contract(root)

    # ---- rules --------------------------------------------------------------------------------
    rule_files = sorted(p for p in prom.glob("*.yml") if p.name != "prometheus.yml" and not p.name.endswith(".test.yml"))
    report.check(bool(rule_files), f"{PROM}/ holds rule files: {', '.join(p.name for p in rule_files)}")
    code, out = promtool("check", "rules", *map(str, rule_files))
    report.check(code == 0, "promtool check rules", out.splitlines()[-1] if out else "")
    if code != 0:
        print(out)
    for test in sorted(prom.glob("*.test.yml")):
        code, out = promtool("test", "rules", str(test))
        report.check(code == 0, f"promtool test rules {test.name}", "" if code == 0 else "\n" + out)
    code, out = promtool("check", "config", str(prom / "prometheus.yml"))
    report.check(code == 0, "promtool check config prometheus.yml (and its rule files)", "" if code == 0 else out)

    used: dict[str, set[str]] = {}
    for rf in rule_files:
        doc = yaml.safe_load(rf.read_text()) or {}
        problems = []
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" not in rule:
                    continue
                name = rule["alert"]
                runbook = (rule.get("annotations") or {}).get("runbook", "")
                if not runbook:
                    problems.append(f"{name}: no runbook annotation")
                elif not (root / runbook).is_file() or not runbook.startswith(str(RUNBOOKS) + "/"):
                    problems.append(f"{name}: runbook {runbook} is no file of {RUNBOOKS}/")
                if not (rule.get("labels") or {}).get("severity"):
                    problems.append(f"{name}: no severity label")
                for metric in metric_names(str(rule.get("expr", ""))):
                    used.setdefault(metric, set()).add(f"{rf.name}:{name}")
        report.check(not problems, f"{rf.name}: every alert has a severity and a runbook in {RUNBOOKS}/", "; ".join(problems))

    aws_exporter = sorted(m for m, where in used.items() if m.startswith(EXPORTER_PREFIXES) and any(w.startswith(AWS_RULES + ":") for w in where))
    report.check(not aws_exporter, f"{AWS_RULES} (loaded by Amazon Managed Prometheus too) uses no exporter metric", ", ".join(aws_exporter))

    # ---- dashboards -----------------------------------------------------------------------------
    uids = set()
    for ds in sorted((root / DATASOURCES).glob("*.yml")):
        for d in (yaml.safe_load(ds.read_text()) or {}).get("datasources", []):
            uids.add(d.get("uid"))
    dashboards = sorted((root / DASHBOARDS).glob("*.json"))
    report.check(bool(dashboards), f"{DASHBOARDS}/ holds dashboards")
    for dash_file in dashboards:
        rel = dash_file.relative_to(root)
        try:
            dash = json.loads(dash_file.read_text())
        except json.JSONDecodeError as e:
            report.check(False, f"{rel}: is JSON", str(e))
            continue
        problems = []
        if not dash.get("uid") or not dash.get("title"):
            problems.append("no uid or title")
        panels = dash.get("panels") or []
        flat = panels + [p for row in panels for p in row.get("panels", [])]
        ids = [p.get("id") for p in flat]
        if len(ids) != len(set(ids)) or None in ids:
            problems.append("panel ids missing or repeated")
        exprs: list[tuple[str, str]] = []
        for p in flat:
            grid = p.get("gridPos") or {}
            if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or grid["x"] + grid["w"] > 24:
                problems.append(f"panel {p.get('title')!r}: gridPos outside the 24-column grid")
            if p.get("type") == "row":
                continue
            targets = p.get("targets") or []
            if not targets:
                problems.append(f"panel {p.get('title')!r}: no query")
            for t in targets:
                for ds in {(t.get("datasource") or {}).get("uid"), (p.get("datasource") or {}).get("uid")} - {None} or {None}:
                    if ds not in uids:
                        problems.append(f"panel {p.get('title')!r}: data source uid {ds!r} is not provisioned ({sorted(uids)})")
                if not str(t.get("expr", "")).strip():
                    problems.append(f"panel {p.get('title')!r}: empty query")
                exprs.append((p.get("title", ""), str(t.get("expr", ""))))
                for metric in metric_names(str(t.get("expr", ""))):
                    used.setdefault(metric, set()).add(f"{dash_file.name}:{p.get('title')}")
        report.check(not problems, f"{rel}: well formed ({len(flat)} panels, {len(exprs)} queries)", "; ".join(problems))
        # promtool parses PromQL: every query as a recording rule.
        rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query_{i}", "expr": e} for i, (_, e) in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
            yaml.safe_dump(rules, fh)
        code, out = promtool("check", "rules", fh.name)
        os.unlink(fh.name)
        report.check(code == 0, f"{rel}: every query parses (promtool)", out)

    # ---- metric names ---------------------------------------------------------------------------
    unknown = sorted(
        f"{m} ({', '.join(sorted(where))})" for m, where in used.items()
        if not known(m, agreed) and not (m.startswith(EXPORTER_PREFIXES) and not any(w.startswith(AWS_RULES + ":") for w in where))
    )
    report.check(not unknown, f"rules and dashboards query only agreed metrics ({len(used)} names, {CONTRACT})", "; ".join(unknown))
    in_code = code_metrics(root)
    pending = sorted(n for n in agreed if n not in in_code)
    # The renames have landed: a name the dashboards or alerts rely on must exist in the code
    # (DEPLOY_METRICS_STRICT=0 turns it back into a note, for a branch mid-rename).
    strict = os.environ.get("DEPLOY_METRICS_STRICT", "1") == "1"
    if pending and not strict:
        print(f"note {len(pending)} agreed metric names the code does not register yet "
              f"(DEPLOY_METRICS_STRICT=0 in force): {', '.join(pending)}")
    else:
        report.check(not pending, f"the code registers every agreed metric ({len(agreed)})", ", ".join(pending))

    # ---- the AWS collector scrapes the same application jobs --------------------------------------
    config = yaml.safe_load((prom / "prometheus.yml").read_text()) or {}
    local_jobs = {j.get("job_name") for j in config.get("scrape_configs", [])}
    collector = (root / COLLECTOR).read_text() if (root / COLLECTOR).is_file() else ""
    aws_jobs = set(re.findall(r'job_name\s*=\s*"([^"]+)"', collector))
    missing = [j for j in APP_JOBS if j not in local_jobs or j not in aws_jobs]
    report.check(not missing, f"prometheus.yml and {COLLECTOR} both scrape {', '.join(APP_JOBS)}",
                 f"missing: {', '.join(missing)} (local {sorted(local_jobs)}, AWS {sorted(aws_jobs)})")

    print(f"RESULT passed={report.passed} failed={report.failed}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
