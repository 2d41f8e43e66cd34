#!/usr/bin/env python3
"""Fails when the top-level modules of a Rust crate import each other in a cycle.

Usage: check-module-cycles.py [--edges] CRATE_DIR [CRATE_DIR…]
       (no CRATE_DIR: every workspace member with a src/lib.rs, from the repository root)

A crate's top-level modules are the `mod NAME` items of its src/lib.rs. Every path that
names another top-level module counts as an edge — `use crate::X`, `crate::X::f()` in an
expression, `use crate::{X, Y::Z}` groups, and `super::` chains that climb to the crate
root from a module file — including test code, since a test that needs its dependent's
internals is a tangle too. Inline `mod NAME { … }` blocks are followed, so `super::`
inside a file's `mod tests` stays in that file's module.

Prints each crate's cycles (one strongly connected group per line with one closing path
through it) and ends with `RESULT crates=N cycles=M`; exits 1 when M > 0. `--edges` also
prints every edge with the first file that makes it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(src: str) -> str:
    """The source with comments, string and char literals blanked (newlines kept)."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    out.append("\n" if src[i] == "\n" else "")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:]) and (i == 0 or not src[i - 1].isalnum()):
            m = re.match(r'r(#*)"', src[i:])
            assert m
            end = src.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append("\n" * src.count("\n", i, end) + '""')
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append("\n" * src.count("\n", i, j) + '""')
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}'), not a lifetime ('a).
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", src[i:])
            if m:
                out.append("' '")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def top_level_modules(lib_rs: Path) -> list[str]:
    text = strip_comments_and_strings(lib_rs.read_text())
    return re.findall(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", text, re.M)


def module_files(src: Path, top: str) -> list[tuple[Path, list[str]]]:
    """Every file of top-level module `top`, with its module path."""
    files: list[tuple[Path, list[str]]] = []
    single = src / f"{top}.rs"
    folder = src / top
    if single.exists():
        files.append((single, [top]))
    if folder.is_dir():
        for f in sorted(folder.rglob("*.rs")):
            rel = f.relative_to(src).with_suffix("").parts
            path = list(rel[:-1]) if rel[-1] == "mod" else list(rel)
            files.append((f, path))
    return files


def group_heads(body: str) -> list[str]:
    """The first segment of each path in a `{…}` use group (nested groups flattened)."""
    heads, depth, current = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if depth == 0 and ch == ",":
            heads.append(current)
            current = ""
        elif depth == 0 or ch not in "{}":
            current += ch if depth == 0 else ""
    heads.append(current)
    out = []
    for h in heads:
        m = re.match(rf"\s*({IDENT})", h)
        if m:
            out.append(m.group(1))
    return out


def references(text: str, file_path: list[str]) -> list[str]:
    """Top-level names (first segment after the crate root) this file's paths point at."""
    found: list[str] = []
    # Where each offset sits: the file's module path plus inline `mod x {` blocks.
    scopes: list[tuple[int, int, list[str]]] = []  # (start, end, module path)
    for m in re.finditer(rf"\bmod\s+({IDENT})\s*\{{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        scopes.append((m.end(), j, [m.group(1)]))

    def module_at(pos: int) -> list[str]:
        path = list(file_path)
        for start, end, extra in sorted(scopes):
            if start <= pos < end:
                path += extra
        return path

    path_re = re.compile(rf"(?<![\w$])((?:crate|super|self)(?:\s*::\s*(?:super|self))*)\s*::\s*(\{{|{IDENT})")
    for m in path_re.finditer(text):
        head = re.split(r"\s*::\s*", m.group(1))
        here = module_at(m.start())
        if head[0] == "crate":
            base: list[str] | None = []
            rest = head[1:]
        else:
            base, rest = list(here), head
        for seg in rest:
            if seg == "super":
                if not base:
                    base = None
                    break
                base.pop()
        if base is None:
            continue
        if base:
            # Still inside a top-level module: the first segment is the top-level module.
            found.append(base[0])
            continue
        if m.group(2) == "{":
            depth, j = 1, m.end()
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            found.extend(group_heads(text[m.end() : j - 1]))
        else:
            found.append(m.group(2))
    return found


def crate_graph(crate: Path) -> tuple[list[str], dict[str, dict[str, Path]]]:
    src = crate / "src"
    tops = top_level_modules(src / "lib.rs")
    edges: dict[str, dict[str, Path]] = {t: {} for t in tops}
    for top in tops:
        for f, path in module_files(src, top):
            text = strip_comments_and_strings(f.read_text())
            for target in references(text, path):
                if target in edges and target != top:
                    edges[top].setdefault(target, f)
    return tops, edges


def strongly_connected(nodes: list[str], edges: dict[str, dict[str, Path]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in nodes:
        if v not in index:
            visit(v)
    return groups


def cycle_through(group: list[str], edges: dict[str, dict[str, Path]]) -> list[str]:
    """One closed path from the group's first module back to itself (breadth first)."""
    start = group[0]
    members = set(group)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in edges[v]:
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return group


def workspace_crates(root: Path) -> list[Path]:
    cargo = (root / "Cargo.toml").read_text()
    m = re.search(r"members\s*=\s*\[([^\]]*)\]", cargo)
    names = re.findall(r'"([^"]+)"', m.group(1)) if m else []
    return [root / n for n in names if (root / n / "src" / "lib.rs").exists()]


def main(argv: list[str]) -> int:
    show_edges = "--edges" in argv
    args = [a for a in argv if a != "--edges"]
    if any(a.startswith("-") for a in args):
        print(__doc__)
        return 2
    root = Path(__file__).resolve().parent.parent
    crates = [Path(a) for a in args] if args else workspace_crates(root)
    cycles = 0
    for crate in crates:
        if not (crate / "src" / "lib.rs").exists():
            print(f"FAIL {crate}: no src/lib.rs")
            cycles += 1
            continue
        tops, edges = crate_graph(crate)
        if show_edges:
            for a in tops:
                for b, f in sorted(edges[a].items()):
                    print(f"  {crate.name}: {a} -> {b}   ({f.relative_to(crate)})")
        groups = strongly_connected(tops, edges)
        for g in groups:
            path = cycle_through(g, edges)
            hops = " -> ".join(
                f"{a} ({edges[a][b].relative_to(crate)})" for a, b in zip(path, path[1:])
            )
            print(f"FAIL {crate.name}: cycle among {{{', '.join(g)}}}: {hops} -> {path[-1]}")
        if not groups:
            print(f"ok   {crate.name}: {len(tops)} top-level modules, no import cycle")
        cycles += len(groups)
    print(f"RESULT crates={len(crates)} cycles={cycles}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
