#!/usr/bin/env python3
"""Fails when the top-level modules of a Rust crate import each other in a cycle.

Usage: check-module-cycles.py [--nested] [--edges] [CRATE_DIR…]
       check-module-cycles.py --self-test
       (no CRATE_DIR: every workspace member with a src/lib.rs, from the repository root)

A crate's top-level modules are the `mod NAME;` items of its src/lib.rs. Every path that
names another top-level module counts as an edge — `use crate::X`, `crate::X::f()` in an
expression, `use crate::{X, Y::Z}` groups, and `super::` chains that climb to the crate
root from a module file — including test code, since a test that needs its dependent's
internals is a tangle too. Inline `mod NAME { … }` blocks are followed, so `super::`
inside a file's `mod tests` stays in that file's module.

`--nested` checks every level the same way: the child modules of each module with
children (`fleet::jobs` and `fleet::lifecycle`, say) must not name each other in a cycle.

Prints each cycle (one strongly connected group per line with one closing path through
it) and ends with `RESULT crates=N cycles=M`; exits 1 when M > 0. `--edges` also prints
every edge with the first file that makes it. `--self-test` checks the checker on small
crates with known cycles.
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


def declared_modules(file: Path) -> list[str]:
    """The modules a file declares with `mod NAME;` (not inline `mod NAME { … }`)."""
    text = strip_comments_and_strings(file.read_text())
    return re.findall(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+({IDENT})\s*;", text, re.M)


def child_files(folder: Path, child: str, path: list[str]) -> list[tuple[Path, list[str]]]:
    """Every file of module `child` declared by the module whose files live in `folder`."""
    files: list[tuple[Path, list[str]]] = []
    single = folder / f"{child}.rs"
    sub = folder / child
    if single.exists():
        files.append((single, path + [child]))
    if sub.is_dir():
        for f in sorted(sub.rglob("*.rs")):
            rel = f.relative_to(sub).with_suffix("").parts
            inner = list(rel[:-1]) if rel[-1] == "mod" else list(rel)
            files.append((f, path + [child] + inner))
    return files


def parse_paths(text: str, pos: int) -> tuple[list[list[str]], int]:
    """The paths written at `pos` (after a `crate::`-like prefix): one path, or one per item
    of a `{…}` group (groups nest). Returns them and where they end."""
    sep = r"\s*::\s*"
    if text.startswith("{", pos):
        depth, j = 1, pos + 1
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        body, out, start, depth = text[pos + 1 : j - 1], [], 0, 0
        for i, ch in enumerate(body + ","):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                item = body[start:i].strip()
                start = i + 1
                if item:
                    out.extend(parse_paths(item, 0)[0])
        return out, j
    m = re.compile(rf"({IDENT}(?:{sep}{IDENT})*)({sep}\{{)?").match(text, pos)
    if not m:
        return [], pos
    segs = [s for s in re.split(sep, m.group(1)) if s != "self"]
    if m.group(2):
        inner, end = parse_paths(text, m.end() - 1)
        return [segs + i for i in inner] or [segs], end
    return [segs], m.end()


def references(text: str, file_path: list[str]) -> list[list[str]]:
    """The absolute module paths (segments after the crate root) this file's paths name."""
    found: list[list[str]] = []
    # Where each offset sits: the file's module path plus inline `mod x {` blocks.
    scopes: list[tuple[int, int, str]] = []
    for m in re.finditer(rf"\bmod\s+({IDENT})\s*\{{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        scopes.append((m.end(), j, m.group(1)))

    def module_at(pos: int) -> list[str]:
        return list(file_path) + [name for start, end, name in sorted(scopes) if start <= pos < end]

    prefix = re.compile(rf"(?<![\w$])((?:crate|super|self)(?:\s*::\s*(?:super|self))*)\s*::\s*")
    for m in prefix.finditer(text):
        head = re.split(r"\s*::\s*", m.group(1))
        base: list[str] | None = [] if head[0] == "crate" else module_at(m.start())
        for seg in head[1:] if head[0] == "crate" else head:
            if seg == "super":
                if not base:
                    base = None
                    break
                base = base[:-1]
        if base is None:
            continue
        paths, _ = parse_paths(text, m.end())
        found.extend(base + p for p in paths)
    return found


def module_parents(src: Path) -> list[tuple[list[str], Path, list[str]]]:
    """Every module with children: (its path, the folder its children live in, their names)."""
    out = []
    todo: list[tuple[list[str], Path, Path]] = [([], src / "lib.rs", src)]
    while todo:
        path, file, folder = todo.pop()
        children = declared_modules(file)
        if children:
            out.append((path, folder, children))
        for c in children:
            if (folder / c / "mod.rs").exists():
                todo.append((path + [c], folder / c / "mod.rs", folder / c))
            elif (folder / f"{c}.rs").exists() and (folder / c).is_dir():
                todo.append((path + [c], folder / f"{c}.rs", folder / c))
    return sorted(out)


def sibling_graph(
    src: Path, path: list[str], folder: Path, children: list[str]
) -> dict[str, dict[str, Path]]:
    """Edges between the children of module `path`: which names which."""
    edges: dict[str, dict[str, Path]] = {c: {} for c in children}
    n = len(path)
    for c in children:
        for f, fpath in child_files(folder, c, path):
            text = strip_comments_and_strings(f.read_text())
            for ref in references(text, fpath):
                if len(ref) > n and ref[:n] == path and ref[n] in edges and ref[n] != c:
                    edges[c].setdefault(ref[n], f)
    return edges


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


def self_test() -> int:
    """Runs the checker on small crates written for it: cycles it must find, and paths that
    look like edges but are not."""
    import tempfile

    cases = {
        # A cycle through a `use` group and a `super::` path; c only looks at its own tests.
        "top": ({
            "lib.rs": "mod a;\npub mod b;\nmod c;\n",
            "a.rs": "use crate::{b::Thing, c};\n",
            "b.rs": "pub fn f() { super::a::g() }\n",
            "c.rs": "// crate::a in a comment\nconst S: &str = \"crate::a\";\n"
                    "#[cfg(test)]\nmod tests { use super::*; }\n",
        }, 1, 0),
        # Siblings inside a folder module, seen only with --nested.
        "nested": ({
            "lib.rs": "pub mod m;\n",
            "m/mod.rs": "pub mod x;\npub mod y;\n",
            "m/x.rs": "use super::y::Y;\n",
            "m/y.rs": "use crate::m::{x::X};\n",
        }, 0, 1),
    }
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (files, top, nested) in cases.items():
            src = Path(tmp) / name / "src"
            for rel, text in files.items():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                (src / rel).write_text(text)
            for only_top, want in ((True, top), (False, top + nested)):
                parents = [p for p in module_parents(src) if not (only_top and p[0])]
                got = sum(
                    len(strongly_connected(ch, sibling_graph(src, path, folder, ch)))
                    for path, folder, ch in parents
                )
                ok = got == want
                failed += not ok
                level = "top level" if only_top else "nested"
                print(f"{'ok  ' if ok else 'FAIL'} self-test {name} ({level}): {got} cycle(s), want {want}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if "--self-test" in argv:
        return self_test()
    show_edges = "--edges" in argv
    nested = "--nested" in argv
    args = [a for a in argv if a not in ("--edges", "--nested")]
    if any(a.startswith("-") for a in args):
        print(__doc__)
        return 2
    root = Path(__file__).resolve().parent.parent
    crates = [Path(a) for a in args] if args else workspace_crates(root)
    cycles = 0
    for crate in crates:
        src = crate / "src"
        if not (src / "lib.rs").exists():
            print(f"FAIL {crate}: no src/lib.rs")
            cycles += 1
            continue
        parents = module_parents(src)
        if not nested:
            parents = [p for p in parents if not p[0]]
        found = 0
        for path, folder, children in parents:
            edges = sibling_graph(src, path, folder, children)
            where = f"{crate.name}" + (f" ({'::'.join(path)})" if path else "")
            if show_edges:
                for a in children:
                    for b, f in sorted(edges[a].items()):
                        print(f"  {where}: {a} -> {b}   ({f.relative_to(crate)})")
            for g in strongly_connected(children, edges):
                path_ = cycle_through(g, edges)
                hops = " -> ".join(
                    f"{a} ({edges[a][b].relative_to(crate)})" for a, b in zip(path_, path_[1:])
                )
                print(f"FAIL {where}: cycle among {{{', '.join(g)}}}: {hops} -> {path_[-1]}")
                found += 1
        if not found:
            what = "modules at every level" if nested else "top-level modules"
            print(f"ok   {crate.name}: no import cycle between {what}")
        cycles += found
    print(f"RESULT crates={len(crates)} cycles={cycles}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
