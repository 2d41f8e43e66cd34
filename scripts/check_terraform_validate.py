#!/usr/bin/env python3
"""`terraform fmt -check` and `terraform validate` of every module and environment, against the
real AWS provider schema, without network or credentials.

Usage: check_terraform_validate.py [ROOT]   (ROOT defaults to the repository)

Needs the terraform binary and a filesystem mirror holding hashicorp/aws (TF_PLUGIN_MIRROR,
default /opt/tf-plugins, laid out as registry.terraform.io/hashicorp/aws/VERSION/OS_ARCH/).
Neither comes from a package registry this project's machines reach: where either is missing
this prints a note and checks nothing (RESULT passed=0 failed=0), and the offline checks
(check_terraform.py, checkov) still run.

hashicorp/random is not in the mirror, so validation runs on a copy where every
`random_password` is a `terraform_data` (same references, `.result` -> `.output`): the rest
of the configuration, including the secrets module and both environments, is validated
against the AWS provider as written. The environments are initialised with their committed
lock file (random's entry removed) in read-only mode, so the AWS provider must match its
locked version and hash.

Prints one line per check ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from check_report import Report


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, str(e)
    return p.returncode, (p.stdout + p.stderr).strip()


def without_random(tree: Path) -> None:
    for tf in tree.rglob("*.tf"):
        text = tf.read_text()
        new = re.sub(
            r'resource "random_password" "(\w+)" \{.*?\n\}',
            lambda m: f'resource "terraform_data" "{m.group(1)}" {{\n  input = "validate-only"\n}}',
            text,
            flags=re.S,
        )
        new = re.sub(r"random_password\.(\w+)\.result", r"terraform_data.\1.output", new)
        new = re.sub(r'\n\s*random\s*=\s*\{[^}]*"hashicorp/random"[^}]*\}', "", new)
        if new != text:
            tf.write_text(new)
    for lock in tree.rglob(".terraform.lock.hcl"):
        lock.write_text(re.sub(r'provider "registry\.terraform\.io/hashicorp/random" \{.*?\n\}\n?', "", lock.read_text(), flags=re.S))


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    mirror = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
    terraform = shutil.which("terraform")
    if not terraform or not (mirror / "registry.terraform.io/hashicorp/aws").is_dir():
        print(f"note terraform validate skipped: {'no terraform binary' if not terraform else f'no hashicorp/aws in {mirror}'}"
              " (neither is installable from this project's registries)")
        print("RESULT passed=0 failed=0")
        return 0

    report = Report()
    check = report.check

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        rc = tmp_path / "terraformrc"
        rc.write_text(
            'provider_installation {\n'
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
            '}\n'
        )
        env = dict(os.environ, TF_CLI_CONFIG_FILE=str(rc), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1",
                   TF_PLUGIN_CACHE_DIR="", TF_DATA_DIR=".terraform")

        code, out = run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", str(root / "terraform")], root, env)
        check(code == 0, "terraform fmt -check -recursive terraform/", out[:2000])

        shutil.copytree(root / "terraform", tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform"))
        if (root / "monitoring").is_dir():
            shutil.copytree(root / "monitoring", tmp_path / "monitoring")
        without_random(tmp_path / "terraform")

        dirs = sorted({p.parent for p in (tmp_path / "terraform").rglob("*.tf")})
        for d in dirs:
            rel = d.relative_to(tmp_path)
            locked = (d / ".terraform.lock.hcl").is_file()
            init = [terraform, "init", "-backend=false", "-input=false", "-no-color"]
            if locked:
                init.append("-lockfile=readonly")
            code, out = run(init, d, env)
            if code != 0:
                check(False, f"terraform init {rel}", out[-1500:])
                continue
            code, out = run([terraform, "validate", "-no-color"], d, env)
            check(code == 0, f"terraform validate {rel}{' (locked providers)' if locked else ''}", out[-2000:])

    print(f"RESULT passed={report.passed} failed={report.failed}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
