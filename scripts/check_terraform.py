#!/usr/bin/env python3
"""Offline checks of the Terraform tree (no terraform binary needed).

Usage: check_terraform.py [ROOT]   (ROOT defaults to the repository; checks ROOT/terraform)

For every directory holding .tf files (a module or an environment):
  - every .tf file parses (python-hcl2) - and so does every *.tfvars(.example);
  - every `var.NAME` used is declared by a `variable` block of that directory;
  - every `local.NAME` used is defined by a `locals` block of that directory;
  - every `module` block's local `source` path exists and holds .tf files;
  - every argument passed to a module is a variable that module declares, and every
    variable it declares without a default is passed;
  - every `module.NAME.OUTPUT` used names a module block of the directory and an output
    that module declares;
  - every variable and output has a description;
  - every key of an environment's terraform.tfvars.example is a declared variable.

Prints one line per check ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
Exit status 1 when anything failed.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from check_report import Report

try:
    import hcl2
except ImportError:  # pragma: no cover - the venv of scripts/check-deploy.sh provides it
    sys.exit("python-hcl2 is not installed: run scripts/check-deploy.sh, which sets up its venv")

# Module block arguments that are not input variables.
MODULE_META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}
# Attributes whose text is prose, not expressions.
PROSE_ATTRS = {"description", "error_message"}

VAR_RE = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
LOCAL_RE = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)")
MODULE_RE = re.compile(r"\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?")


def is_meta(key: object) -> bool:
    """python-hcl2's own keys (`__is_block__`, `__comments__`, ...), not HCL names."""
    return isinstance(key, str) and key.startswith("__")


def unquote(s: object) -> object:
    """python-hcl2 8 keeps the quotes of string literals and block labels."""
    if isinstance(s, str) and len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1]
    return s


@dataclass
class TfDir:
    path: Path
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)
    modules: dict[str, dict] = field(default_factory=dict)
    # (file, attribute path, expression text)
    expressions: list[tuple[Path, str, str]] = field(default_factory=list)


def walk_strings(node: object, where: str, out: list[tuple[str, str]]) -> None:
    """Collects every string in a parsed body with its attribute path (prose excluded)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in PROSE_ATTRS or is_meta(k):
                continue
            walk_strings(v, f"{where}.{unquote(k)}" if where else str(unquote(k)), out)
    elif isinstance(node, list):
        for item in node:
            walk_strings(item, where, out)
    elif isinstance(node, str):
        out.append((where, node))


def labelled(blocks: list, depth: int):
    """Yields (labels, body) of blocks nested `depth` labels deep in python-hcl2's output."""
    for block in blocks or []:
        stack = [((), block)]
        while stack:
            labels, node = stack.pop()
            if len(labels) == depth:
                yield labels, node
                continue
            if isinstance(node, dict):
                for k, v in node.items():
                    if not is_meta(k):
                        stack.append((labels + (str(unquote(k)),), v))


def load_dir(path: Path, report: Report, root: Path) -> TfDir:
    d = TfDir(path)
    for tf in sorted(path.glob("*.tf")):
        rel = tf.relative_to(root)
        try:
            with tf.open() as fh:
                doc = hcl2.load(fh)
        except Exception as e:  # noqa: BLE001 - any parser error is a failed check
            report.check(False, f"parse {rel}", str(e).splitlines()[0] if str(e) else type(e).__name__)
            continue
        report.check(True, f"parse {rel}")

        for (name,), body in labelled(doc.get("variable"), 1):
            d.variables[name] = body
        for (name,), body in labelled(doc.get("output"), 1):
            d.outputs[name] = body
        for (name,), body in labelled(doc.get("module"), 1):
            d.modules[name] = body
        for block in doc.get("locals", []) or []:
            d.locals.update(k for k in block if not is_meta(k))

        strings: list[tuple[str, str]] = []
        walk_strings(doc, "", strings)
        d.expressions.extend((rel, where, text) for where, text in strings)
    return d


def has_tf(path: Path) -> bool:
    return path.is_dir() and any(path.glob("*.tf"))


def check_dir(d: TfDir, dirs: dict[Path, TfDir], report: Report, root: Path) -> None:
    rel = d.path.relative_to(root)

    # var.X declared
    used_vars: dict[str, str] = {}
    used_locals: dict[str, str] = {}
    used_modules: dict[tuple[str, str | None], str] = {}
    for file, where, text in d.expressions:
        for m in VAR_RE.finditer(text):
            used_vars.setdefault(m.group(1), f"{file} ({where})")
        for m in LOCAL_RE.finditer(text):
            used_locals.setdefault(m.group(1), f"{file} ({where})")
        for m in MODULE_RE.finditer(text):
            used_modules.setdefault((m.group(1), m.group(2)), f"{file} ({where})")

    undeclared = {v: at for v, at in used_vars.items() if v not in d.variables}
    report.check(
        not undeclared,
        f"{rel}: every var.* used is declared ({len(used_vars)} used)",
        "; ".join(f"var.{v} used in {at} is not declared" for v, at in sorted(undeclared.items())),
    )
    undefined = {v: at for v, at in used_locals.items() if v not in d.locals}
    report.check(
        not undefined,
        f"{rel}: every local.* used is defined ({len(used_locals)} used)",
        "; ".join(f"local.{v} used in {at} is not defined" for v, at in sorted(undefined.items())),
    )

    undocumented = [f"variable {n}" for n, b in d.variables.items() if not unquote(b.get("description", ""))]
    undocumented += [f"output {n}" for n, b in d.outputs.items() if not unquote(b.get("description", ""))]
    report.check(not undocumented, f"{rel}: variables and outputs are documented", ", ".join(sorted(undocumented)))

    # module blocks
    targets: dict[str, TfDir | None] = {}
    for name, body in sorted(d.modules.items()):
        source = unquote(body.get("source", ""))
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            report.check(isinstance(source, str) and bool(source), f"{rel}: module {name} has a source", "missing source")
            targets[name] = None
            continue
        target_path = (d.path / source).resolve()
        ok = report.check(
            has_tf(target_path),
            f"{rel}: module {name} source {source} exists",
            f"{target_path} is not a directory with .tf files",
        )
        target = dirs.get(target_path) if ok else None
        targets[name] = target
        if target is None:
            continue
        passed = {str(k) for k in body if k not in MODULE_META_ARGS and not is_meta(k)}
        unknown = sorted(passed - set(target.variables))
        report.check(
            not unknown,
            f"{rel}: module {name} passes only variables {source} declares",
            ", ".join(f"{v} is not a variable of {source}" for v in unknown),
        )
        required = sorted(n for n, b in target.variables.items() if "default" not in b)
        missing = [v for v in required if v not in passed]
        report.check(
            not missing,
            f"{rel}: module {name} gets every required variable of {source}",
            ", ".join(f"{v} (no default) is not passed" for v in missing),
        )

    # module.X.Y references
    bad = []
    for (mod, out), at in sorted(used_modules.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if mod not in d.modules:
            bad.append(f"module.{mod} used in {at} has no module block")
        elif out is not None and targets.get(mod) is not None and out not in targets[mod].outputs:
            bad.append(f"module.{mod}.{out} used in {at}: {d.modules[mod].get('source')} has no output {out}")
    if used_modules:
        report.check(not bad, f"{rel}: every module.*.* used names a module and one of its outputs", "; ".join(bad))


def check_tfvars(path: Path, d: TfDir | None, report: Report, root: Path) -> None:
    rel = path.relative_to(root)
    try:
        with path.open() as fh:
            doc = hcl2.load(fh)
    except Exception as e:  # noqa: BLE001
        report.check(False, f"parse {rel}", str(e).splitlines()[0] if str(e) else type(e).__name__)
        return
    report.check(True, f"parse {rel}")
    if d is not None:
        unknown = sorted(k for k in doc if not is_meta(k) and k not in d.variables)
        report.check(not unknown, f"{rel}: every key is a declared variable", ", ".join(unknown))


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    tf_root = root / "terraform"
    report = Report()
    if not report.check(tf_root.is_dir(), f"{tf_root.relative_to(root)}/ exists"):
        print(f"RESULT passed={report.passed} failed={report.failed}")
        return 1

    dir_paths = sorted({p.parent.resolve() for p in tf_root.rglob("*.tf") if ".terraform" not in p.parts})
    report.check(bool(dir_paths), "terraform/ holds .tf files")
    dirs = {p: load_dir(p, report, root) for p in dir_paths}
    for d in dirs.values():
        check_dir(d, dirs, report, root)

    for vars_file in sorted(list(tf_root.rglob("*.tfvars")) + list(tf_root.rglob("*.tfvars.example"))):
        if ".terraform" in vars_file.parts:
            continue
        check_tfvars(vars_file, dirs.get(vars_file.parent.resolve()), report, root)

    for env in sorted(p for p in (tf_root / "envs").glob("*") if p.is_dir()) if (tf_root / "envs").is_dir() else []:
        report.check(any(env.glob("*.tf")), f"{env.relative_to(root)}: environment has .tf files")

    print(f"RESULT passed={report.passed} failed={report.failed}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
