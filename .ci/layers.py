#!/usr/bin/env python3
"""Fails when an import runs back up the layer order (docs/architecture.md, "Layers").

Each top-level module of src/ has a rank; a module may use modules of a lower rank only
(modules of the same rank are siblings and may not use each other). The binary (main.rs and
cli/) sits on top, and cli/ may not reach back into main.rs. Paths are read from `crate::...`
(and `a2a_runtime::...` in the binary), including `use crate::{a, b::c}` groups; names the
crate root re-exports (lib.rs `pub use x::{...}`) count as their module. Comments are skipped.
"""

import pathlib
import re
import sys

RANKS = {
    # Leaf utilities: depend on nothing of ours.
    "ids": 0,
    "backoff": 0,
    # The wire model.
    "protocol": 1,
    # Siblings on the wire model: the manifest model, the log, the A2A client.
    "config": 2,
    "store": 2,
    "client": 2,
    "push": 3,
    "runtime": 4,
    "transport": 5,
    "agents": 6,
    "server": 7,
    # The binary.
    "cli": 8,
    "main": 9,
}

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def module_of(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC)
    if rel.parts[0] in ("lib.rs",):
        return "lib"
    if rel.parts[0] == "main.rs":
        return "main"
    return rel.parts[0].removesuffix(".rs")


def root_reexports() -> dict:
    """Names lib.rs re-exports at the root, mapped to the module they come from."""
    names = {}
    text = strip_comments((SRC / "lib.rs").read_text())
    for m in re.finditer(r"pub use (\w+)::(\{[^;]*\}|\w+)\s*;", text):
        module, items = m.group(1), m.group(2)
        for name in re.findall(r"\w+", items):
            names[name] = module
    return names


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] if "//" in line else line for line in text.splitlines())


def first_names(group: str) -> list:
    """The first path segment of each item of a `{...}` use group."""
    names, depth, current = [], 0, ""
    for ch in group:
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and ch == ",":
            names.append(current)
            current = ""
        elif depth >= 1:
            current += ch
    names.append(current)
    return [n.strip().split("::")[0].strip() for n in names if n.strip()]


def used_modules(text: str, prefixes: tuple, reexports: dict) -> set:
    found = set()
    for prefix in prefixes:
        for m in re.finditer(re.escape(prefix) + r"::(\{|\w+)", text):
            if m.group(1) == "{":
                start = m.start(1)
                names = first_names(text[start:])
            else:
                names = [m.group(1)]
            for name in names:
                if name in RANKS:
                    found.add(name)
                elif name in reexports:
                    found.add(reexports[name])
    return found


def main() -> int:
    reexports = root_reexports()
    problems = []
    for path in sorted(SRC.rglob("*.rs")):
        module = module_of(path)
        if module == "lib":
            continue
        if module not in RANKS:
            problems.append(f"{path.relative_to(ROOT)}: module {module!r} has no layer; add it to .ci/layers.py and docs/architecture.md")
            continue
        text = strip_comments(path.read_text())
        prefixes = ("crate",)
        if module in ("main", "cli"):
            prefixes = ("a2a_runtime",)
            # Inside the binary, `crate::` is the binary itself: only cli may be reached.
            for used in used_modules(text, ("crate",), {}):
                if used != "cli":
                    problems.append(f"{path.relative_to(ROOT)}: the binary's {module} uses crate::{used}")
            if re.search(r"crate::(\{|[A-Z])", text) and module == "cli":
                problems.append(f"{path.relative_to(ROOT)}: cli uses items of main.rs")
        for used in used_modules(text, prefixes, reexports):
            if used == module:
                continue
            if RANKS[used] >= RANKS[module]:
                problems.append(
                    f"{path.relative_to(ROOT)}: {module} (layer {RANKS[module]}) uses {used} (layer {RANKS[used]})"
                )
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} import(s) run against the layer order (see docs/architecture.md)")
        return 1
    print("layers: every import runs down the order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
