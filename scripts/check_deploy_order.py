#!/usr/bin/env python3
"""terraform/deploy.sh does things in the safe order and stops on a failed one-off task.

Usage: check_deploy_order.py [ROOT]   (ROOT defaults to the repository)

Runs the script against a fake `terraform` and a fake `aws` (no AWS account here) that log
every call, and checks the calls:
  - a targeted apply first (data stores, secrets, one-off task definitions; no service);
  - then the app-users task, run to completion, then the migrate task;
  - the full apply only when every container of both tasks exited 0, then the render nodes'
    instance refresh started from Terraform's output (desired configuration, rollback);
  - a failed app-users task stops the deploy before migrate; a failed migrate before the
    full apply; the script then exits non-zero.

Prints one line per case ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from check_report import Report

FAKE_TERRAFORM = r"""#!/bin/bash
echo "terraform $*" >> "$CALLS"
case "$*" in
  *"output -raw ecs_cluster_name"*) echo sm-test ;;
  *"output -json private_subnet_ids"*) echo '["subnet-a","subnet-b"]' ;;
  *"output -raw ops_security_group_id"*) echo sg-ops ;;
  *"output -raw app_users_task_family"*) echo sm-test-app-users ;;
  *"output -raw migrate_task_family"*) echo sm-test-control-plane-migrate ;;
  *"output -raw render_nodes_instance_refresh"*) echo '{"AutoScalingGroupName":"sm-test-render-nodes"}' ;;
  *"output -raw render_nodes_autoscaling_group"*) echo sm-test-render-nodes ;;
esac
"""

FAKE_AWS = r"""#!/bin/bash
echo "aws $*" >> "$CALLS"
case "$*" in
  *"ecs run-task"*)
    family=$(sed -n 's/.*--task-definition \([^ ]*\).*/\1/p' <<<"$*")
    echo "arn:aws:ecs:eu-west-1:123456789012:task/sm-test/$family" ;;
  *"ecs describe-tasks"*)
    if [[ "$*" == *"$FAIL_FAMILY"* && -n "$FAIL_FAMILY" ]]; then printf 'first\t0\nsecond\t1\n'; else printf 'first\t0\nsecond\t0\n'; fi ;;
  *"autoscaling start-instance-refresh"*) echo refresh-1 ;;
esac
"""


def run(root: Path, fail_family: str) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = Path(tmp) / "bin"
        bin_dir.mkdir()
        for name, body in (("terraform", FAKE_TERRAFORM), ("aws", FAKE_AWS)):
            (bin_dir / name).write_text(body)
            (bin_dir / name).chmod(0o755)
        calls = Path(tmp) / "calls"
        calls.touch()
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", CALLS=str(calls), FAIL_FAMILY=fail_family)
        p = subprocess.run(["bash", str(root / "terraform/deploy.sh"), "staging"], env=env,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, calls.read_text().splitlines()


def index(calls: list[str], *needles: str) -> int:
    for i, c in enumerate(calls):
        if all(n in c for n in needles):
            return i
    return -1


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    report = Report()
    check = report.check

    if not (root / "terraform/deploy.sh").is_file():
        check(False, "terraform/deploy.sh exists", "missing")
        print(f"RESULT passed={report.passed} failed={report.failed}")
        return 1

    code, calls = run(root, "")
    targeted = index(calls, "terraform", " apply", "-target=")
    users = index(calls, "ecs run-task", "app-users")
    migrate = index(calls, "ecs run-task", "migrate")
    full = max((i for i, c in enumerate(calls) if c.startswith("terraform") and " apply" in c and "-target" not in c), default=-1)
    waits = [i for i, c in enumerate(calls) if "ecs wait tasks-stopped" in c]
    targets = calls[targeted] if targeted >= 0 else ""
    refresh = index(calls, "autoscaling start-instance-refresh", "--cli-input-json", "sm-test-render-nodes")
    check(code == 0 and 0 <= targeted < users < migrate < full and len(waits) == 2 and users < waits[0] < migrate < waits[1] < full,
          "deploy.sh: targeted apply, app-users, migrate (each waited for), then the full apply",
          f"exit {code}, calls: {calls}")
    check(full >= 0 and refresh > full,
          "deploy.sh: the render nodes' instance refresh starts after the full apply, from Terraform's output",
          f"calls: {calls}")
    check("aws_ecs_task_definition.migrate" in targets and "aws_ecs_service" not in targets and "render_nodes" not in targets,
          "deploy.sh: the first apply creates the one-off tasks but not the service or the nodes", targets or "no targeted apply")

    code, calls = run(root, "migrate")
    check(code != 0 and index(calls, "ecs run-task", "migrate") >= 0
          and not any(c.startswith("terraform") and " apply" in c and "-target" not in c for c in calls)
          and index(calls, "start-instance-refresh") < 0,
          "deploy.sh: a failed migrate stops the deploy before the service update", f"exit {code}, calls: {calls}")

    code, calls = run(root, "app-users")
    check(code != 0 and index(calls, "ecs run-task", "migrate") < 0,
          "deploy.sh: failed app users stop the deploy before migrate", f"exit {code}, calls: {calls}")

    print(f"RESULT passed={report.passed} failed={report.failed}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
