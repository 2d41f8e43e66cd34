#!/usr/bin/env python3
"""Offline checks of docker/: the Dockerfiles and the compose file (no Docker engine needed).
hadolint (scripts/check-deploy.sh) lints the Dockerfiles' syntax and practice (unknown
instructions, COPY --from a stage that does not exist, a last USER root, untagged or `latest`
images, ...); this script checks what hadolint cannot see: the build context, the workspace,
the pins, and the compose stack.

Usage: check_dockerfiles.py [ROOT]   (ROOT defaults to the repository)

Dockerfiles (docker/*.Dockerfile, docker/**/Dockerfile):
  - every COPY/ADD source exists in the build context and is not excluded by .dockerignore;
  - the final stage sets a USER (hadolint refuses root, not a missing USER) and has a
    HEALTHCHECK;
  - every base image is pinned, ARG defaults resolved: a version tag of at least
    MAJOR.MINOR (`rust:1.95.0-bookworm`, `debian:12.12-slim`) or a digest; never a floating
    `rust:1-bookworm` or `debian:bookworm-slim`; a pinned Rust is at least the workspace's
    rust-version;
  - every `cargo build -p NAME` builds a package of the workspace (ROOT/Cargo.toml members),
    every `target/<profile>/BIN` copied is a binary of a package built, and a stage that
    runs cargo sets SQLX_OFFLINE=true when .sqlx/ exists.
docker/compose.yaml: scripts/check_compose.py (the build contexts it names are these
Dockerfiles' contexts).

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

from check_compose import check_compose

from check_report import Report

INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}


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
    if not stages:
        report.check(False, f"{rel}: has stages", "; ".join(errors))
        return
    ignore = DockerIgnore(context)
    ctx_rel = context.relative_to(root) if context != root else Path(".")

    # COPY / ADD
    missing: list[str] = []
    copies = 0
    for stage in stages:
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
                continue  # hadolint DL3022 checks the stage
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

    final = stages[-1]
    users = [i for i in final.instructions if i.keyword == "USER"]
    report.check(bool(users), f"{rel}: final stage sets a USER", "no USER: the container runs as root")
    health = [i for i in final.instructions if i.keyword == "HEALTHCHECK"]
    report.check(
        bool(health) and not health[-1].args.strip().upper().startswith("NONE"),
        f"{rel}: final stage has a HEALTHCHECK",
        "no HEALTHCHECK in the final stage",
    )

    # pinned base images
    args = {}
    for ins in instructions:
        if ins.keyword == "ARG" and "=" in ins.args:
            key, _, value = ins.args.strip().partition("=")
            args[key.strip()] = value.strip().strip('"')
        if ins.keyword == "FROM":
            break
    earlier_names: set[str] = set()
    unpinned: list[str] = []
    for stage in stages:
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), stage.base)
        if image not in earlier_names and image.lower() != "scratch":
            why = unpinned_reason(image, rust_version(root))
            if why:
                unpinned.append(f"FROM {stage.base} ({image}): {why}")
        if stage.name:
            earlier_names.add(stage.name)
    report.check(not unpinned, f"{rel}: base images are pinned", "; ".join(unpinned))

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


PINNED_TAG = re.compile(r"^v?\d+\.\d+")


def rust_version(root: Path) -> tuple[int, ...] | None:
    try:
        manifest = tomllib.loads((root / "Cargo.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    version = manifest.get("workspace", {}).get("package", {}).get("rust-version")
    return tuple(int(x) for x in version.split(".")) if version else None


def unpinned_reason(image: str, msrv: tuple[int, ...] | None = None) -> str:
    """Why IMAGE is not pinned ('' when it is): a digest, or a tag starting MAJOR.MINOR."""
    if "${" in image or "$" in image:
        return "its version comes from an unset variable"
    if "@sha256:" in image:
        return ""
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    if not tag:
        return "no tag (latest)"
    if not PINNED_TAG.match(tag):
        return f"tag {tag!r} floats (pin MAJOR.MINOR[.PATCH] or a digest)"
    if name.split("/")[-1] == "rust" and msrv:
        have = tuple(int(x) for x in re.findall(r"\d+", tag)[:3])
        if have < msrv:
            return f"Rust {tag} is older than the workspace's rust-version {'.'.join(map(str, msrv))}"
    return ""


def default_context(dockerfile: Path, root: Path) -> Path:
    return root if dockerfile.parent == root / "docker" and dockerfile.name != "Dockerfile" else dockerfile.parent


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
        contexts = check_compose(compose, root, dockerfiles, report, unpinned_reason)

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
