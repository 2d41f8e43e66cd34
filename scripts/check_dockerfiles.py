#!/usr/bin/env python3
"""Offline checks of docker/: the Dockerfiles and the compose file (no Docker engine needed;
hadolint is not packaged for Debian 12, so this script checks the basics itself).

Usage: check_dockerfiles.py [ROOT]   (ROOT defaults to the repository)

Dockerfiles (docker/*.Dockerfile, docker/**/Dockerfile):
  - every instruction is known and every stage (FROM) is well formed;
  - every COPY/ADD source exists in the build context and is not excluded by .dockerignore;
  - COPY --from names an earlier stage (or an image reference);
  - the final stage runs as a non-root USER and has a HEALTHCHECK;
  - every `cargo build -p NAME` builds a package of the workspace (ROOT/Cargo.toml members),
    every `target/<profile>/BIN` copied is a binary of a package built, and a stage that
    runs cargo sets SQLX_OFFLINE=true when .sqlx/ exists.
docker/compose.yaml:
  - parses; every service has an image or a build; build contexts and dockerfiles exist
    and the dockerfile is one of the checked ones; bind-mounted files and env_files exist;
    depends_on names services; no host port is published twice.

Build context of a Dockerfile: the one compose gives it; else the repository root for
docker/NAME.Dockerfile and the Dockerfile's own directory for docker/DIR/Dockerfile.

Prints one line per check ("ok" or "FAIL") and ends with `RESULT passed=N failed=M`.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - the venv of scripts/check-deploy.sh provides it
    sys.exit("PyYAML is not installed: run scripts/check-deploy.sh, which sets up its venv")

INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}{': ' + why if why else ''}")
        return ok


@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def parse_dockerfile(text: str) -> tuple[list[Instruction], list[str]]:
    """Joins continuation lines, drops comments; returns instructions and syntax errors."""
    escape = "\\"
    lines = text.splitlines()
    # Parser directives (only at the very top).
    for raw in lines:
        m = re.match(r"#\s*(\w+)\s*=\s*(\S+)", raw)
        if not m:
            break
        if m.group(1).lower() == "escape":
            escape = m.group(2)
    out: list[Instruction] = []
    errors: list[str] = []
    buf = ""
    start = 0
    heredoc_end: str | None = None
    for n, raw in enumerate(lines, 1):
        if heredoc_end is not None:
            buf += "\n" + raw
            if raw.strip() == heredoc_end:
                heredoc_end = None
                out.append(_instruction(start, buf, errors))
                buf = ""
            continue
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction
        if not buf:
            start = n
        if stripped.endswith(escape):
            buf += stripped[: -len(escape)] + " "
            continue
        buf += stripped
        m = re.search(r"<<-?[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?", buf)
        if m and buf.split(None, 1)[0].upper() in {"RUN", "COPY", "ADD"}:
            heredoc_end = m.group(1)
            continue
        out.append(_instruction(start, buf, errors))
        buf = ""
    if buf:
        errors.append(f"line {start}: instruction continues past the end of the file")
    return out, errors


def _instruction(line: int, text: str, errors: list[str]) -> Instruction:
    parts = text.split(None, 1)
    keyword = parts[0].upper()
    if keyword not in INSTRUCTIONS:
        errors.append(f"line {line}: unknown instruction {parts[0]!r}")
    return Instruction(line, keyword, parts[1] if len(parts) > 1 else "")


def split_flags(args: str) -> tuple[dict[str, str], list[str]]:
    """`--from=x --chown=a:b src dst` or JSON form -> flags, words."""
    words: list[str]
    flags: dict[str, str] = {}
    rest = args.strip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        key, _, value = flag[2:].partition("=")
        flags[key] = value
        rest = rest.strip()
    if rest.startswith("["):
        try:
            words = [str(w) for w in json.loads(rest)]
        except json.JSONDecodeError:
            words = shlex.split(rest)
    else:
        words = shlex.split(rest)
    return flags, words


def stages_of(instructions: list[Instruction], errors: list[str]) -> list[Stage]:
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            flags, words = split_flags(ins.args)
            if len(words) == 1:
                stages.append(Stage(len(stages), words[0], None))
            elif len(words) == 3 and words[1].upper() == "AS":
                stages.append(Stage(len(stages), words[0], words[2]))
            else:
                errors.append(f"line {ins.line}: malformed FROM {ins.args!r}")
                stages.append(Stage(len(stages), words[0] if words else "", None))
        elif not stages:
            if ins.keyword != "ARG":
                errors.append(f"line {ins.line}: {ins.keyword} before the first FROM")
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        errors.append("no FROM instruction")
    return stages


class DockerIgnore:
    def __init__(self, context: Path) -> None:
        self.rules: list[tuple[bool, str]] = []
        f = context / ".dockerignore"
        if f.is_file():
            for raw in f.read_text().splitlines():
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                negate = line.startswith("!")
                pattern = line[1:] if negate else line
                pattern = pattern.strip().lstrip("/").rstrip("/")
                if pattern.startswith("./"):
                    pattern = pattern[2:]
                self.rules.append((negate, pattern))

    @staticmethod
    def _match(pattern: str, path: str) -> bool:
        # A pattern matches the path itself or any of its parent directories.
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        regex = _glob_regex(pattern)
        return any(regex.fullmatch(p) for p in prefixes)

    def excluded(self, rel_path: str) -> bool:
        result = False
        for negate, pattern in self.rules:
            if self._match(pattern, rel_path):
                result = not negate
        return result


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def workspace_packages(root: Path) -> dict[str, set[str]]:
    """package name -> binary names, for every workspace member of ROOT/Cargo.toml."""
    manifest = tomllib.loads((root / "Cargo.toml").read_text())
    packages: dict[str, set[str]] = {}
    for member in manifest.get("workspace", {}).get("members", []):
        for member_dir in sorted(glob.glob(str(root / member))):
            cargo = Path(member_dir) / "Cargo.toml"
            if not cargo.is_file():
                continue
            pkg = tomllib.loads(cargo.read_text())
            name = pkg.get("package", {}).get("name")
            if not name:
                continue
            bins = {b["name"] for b in pkg.get("bin", []) if "name" in b}
            if (Path(member_dir) / "src" / "main.rs").is_file() and pkg.get("package", {}).get("autobins", True) is not False:
                bins.add(name)
            bins.update(p.stem for p in (Path(member_dir) / "src" / "bin").glob("*.rs"))
            packages[name] = bins
    return packages


def check_dockerfile(dockerfile: Path, context: Path, root: Path, packages: dict[str, set[str]], report: Report) -> None:
    rel = dockerfile.relative_to(root)
    instructions, errors = parse_dockerfile(dockerfile.read_text())
    stages = stages_of(instructions, errors)
    report.check(not errors, f"{rel}: parses", "; ".join(errors))
    if not stages:
        return
    ignore = DockerIgnore(context)
    ctx_rel = context.relative_to(root) if context != root else Path(".")

    # COPY / ADD
    missing: list[str] = []
    bad_from: list[str] = []
    copies = 0
    for stage in stages:
        earlier = {s.name for s in stages[: stage.index] if s.name} | {str(s.index) for s in stages[: stage.index]}
        for ins in stage.instructions:
            if ins.keyword not in {"COPY", "ADD"}:
                continue
            flags, words = split_flags(ins.args)
            if "<<" in ins.args:
                continue  # heredoc sources are inline
            if len(words) < 2:
                missing.append(f"line {ins.line}: {ins.keyword} needs a source and a destination")
                continue
            sources = words[:-1]
            if "from" in flags:
                src_stage = flags["from"]
                if src_stage not in earlier and not re.search(r"[:/@]", src_stage):
                    bad_from.append(f"line {ins.line}: --from={src_stage} is no earlier stage")
                continue
            for src in sources:
                if ins.keyword == "ADD" and re.match(r"^[a-z]+://", src):
                    continue
                copies += 1
                src_clean = src.lstrip("/").rstrip("/") or "."
                matches = glob.glob(str(context / src_clean)) if any(c in src_clean for c in "*?[") else (
                    [str(context / src_clean)] if (context / src_clean).exists() else []
                )
                if not matches:
                    missing.append(f"line {ins.line}: {src} not found in context {ctx_rel}/")
                    continue
                for m in matches:
                    mrel = Path(m).resolve().relative_to(context.resolve()).as_posix()
                    if mrel != "." and ignore.excluded(mrel):
                        missing.append(f"line {ins.line}: {src} is excluded by {ctx_rel}/.dockerignore")
    report.check(not missing, f"{rel}: every COPY/ADD source exists in the build context ({copies} sources)", "; ".join(missing))
    report.check(not bad_from, f"{rel}: every COPY --from names an earlier stage", "; ".join(bad_from))

    final = stages[-1]
    users = [i for i in final.instructions if i.keyword == "USER"]
    user = users[-1].args.strip().split(":")[0] if users else ""
    report.check(
        bool(users) and user not in {"root", "0"},
        f"{rel}: final stage runs as a non-root USER",
        f"USER is {user or 'unset (root)'}",
    )
    health = [i for i in final.instructions if i.keyword == "HEALTHCHECK"]
    report.check(
        bool(health) and not health[-1].args.strip().upper().startswith("NONE"),
        f"{rel}: final stage has a HEALTHCHECK",
        "no HEALTHCHECK in the final stage",
    )

    # cargo builds
    built: set[str] = set()
    cargo_problems: list[str] = []
    for stage in stages:
        env_text = " ".join(i.args for i in stage.instructions if i.keyword in {"ENV", "ARG"})
        for ins in stage.instructions:
            if ins.keyword != "RUN" or not re.search(r"\bcargo\s+(build|install)\b", ins.args):
                continue
            names = re.findall(r"(?:-p|--package)(?:\s+|=)([A-Za-z0-9_-]+)", ins.args)
            if not names:
                cargo_problems.append(f"line {ins.line}: cargo build without -p names no binary")
            for name in names:
                if name in packages:
                    built.add(name)
                else:
                    cargo_problems.append(f"line {ins.line}: -p {name} is not a workspace member package")
            if (root / ".sqlx").is_dir() and not re.search(r"SQLX_OFFLINE=true", env_text + " " + ins.args):
                cargo_problems.append(f"line {ins.line}: cargo runs without SQLX_OFFLINE=true")
    binaries = set().union(*(packages[p] for p in built)) if built else set()
    for stage in stages:
        for ins in stage.instructions:
            for m in re.finditer(r"target/(?:[\w-]+/)?(?:release|debug)/([A-Za-z0-9_-]+)", ins.args):
                if built and m.group(1) not in binaries:
                    cargo_problems.append(f"line {ins.line}: {m.group(0)} is not a binary of {sorted(built)}")
    if built or cargo_problems:
        report.check(
            not cargo_problems,
            f"{rel}: builds workspace binaries {sorted(binaries)}",
            "; ".join(cargo_problems),
        )


def default_context(dockerfile: Path, root: Path) -> Path:
    return root if dockerfile.parent == root / "docker" and dockerfile.name != "Dockerfile" else dockerfile.parent


def check_compose(compose_file: Path, root: Path, dockerfiles: set[Path], report: Report) -> dict[Path, Path]:
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
    return contexts


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    report = Report()
    docker_dir = root / "docker"
    if not report.check(docker_dir.is_dir(), "docker/ exists"):
        print(f"RESULT passed={report.passed} failed={report.failed}")
        return 1

    dockerfiles = {p.resolve() for p in docker_dir.glob("*.Dockerfile")} | {p.resolve() for p in docker_dir.rglob("Dockerfile")}
    report.check(bool(dockerfiles), "docker/ holds Dockerfiles")

    try:
        packages = workspace_packages(root)
        report.check(bool(packages), f"Cargo.toml workspace members: {sorted(packages)}")
    except (OSError, tomllib.TOMLDecodeError) as e:
        report.check(False, "Cargo.toml workspace members", str(e))
        packages = {}

    contexts: dict[Path, Path] = {}
    compose = docker_dir / "compose.yaml"
    if report.check(compose.is_file(), "docker/compose.yaml exists"):
        contexts = check_compose(compose, root, dockerfiles, report)

    for df in sorted(dockerfiles):
        check_dockerfile(df, contexts.get(df, default_context(df, root)), root, packages, report)

    # The two images the operator contract names must be built somewhere.
    built_bins = set()
    for df in dockerfiles:
        built_bins.update(re.findall(r"(?:-p|--package)(?:\s+|=)([A-Za-z0-9_-]+)", df.read_text()))
    for required in ("control-plane", "render-node"):
        report.check(required in built_bins, f"an image builds {required}")

    print(f"RESULT passed={report.passed} failed={report.failed}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
