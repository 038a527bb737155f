"""The layer rule of pipeline/ (docs/architecture.md), checked on every import, including the
imports inside functions:

    cli → job → stages → engine        job → io → engine        job → engine
    config, errors, vocab, i18n, reasons: imported by all; config, errors and vocab import only
    each other and i18n, reasons imports only i18n, i18n nothing
    sample: imports nothing else of pipeline (it checks the engine, so it must not use it)

and there is no import cycle anywhere, between packages or between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "pipeline"

#: Which layers each layer may import (besides itself).
BASE = {"config", "errors", "vocab", "version", "i18n", "reasons"}
ALLOWED = {
    "entry": {"cli"},
    "cli": {"job", "sample", *BASE},
    "job": {"stages", "io", "engine", *BASE},
    "stages": {"engine", *BASE},
    "io": {"engine", *BASE},
    "engine": set(BASE),
    "sample": set(),
    "config": {"errors", "vocab", "i18n"},
    "errors": {"i18n"},
    "vocab": {"i18n"},
    "version": set(),
    "i18n": set(),
    "reasons": {"i18n"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "version"  # pipeline/__init__.py: the version only
    if parts[1] == "__main__":
        return "entry"
    return parts[1]


def imports_of(path: Path) -> set[str]:
    """Every pipeline module ``path`` imports, anywhere in it (functions too), resolved to a module."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    modules = {module_name(p) for p in ROOT.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("pipeline"):
                continue
            # the deepest pipeline module the name refers to (a module, or a name in one)
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != me:
                found.add(name)
    return found


GRAPH = {module_name(p): imports_of(p) for p in sorted(ROOT.rglob("*.py"))}


def test_the_layers_are_what_the_architecture_says():
    assert set(map(layer, GRAPH)) <= set(ALLOWED), "a new top-level module: give it a layer here and in the docs"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_each_module_imports_only_what_its_layer_may(module):
    own = layer(module)
    wrong = sorted(
        f"{target} ({layer(target)})"
        for target in GRAPH[module]
        if layer(target) != own and layer(target) not in ALLOWED[own]
    )
    assert not wrong, f"{module} ({own}) must not import {', '.join(wrong)}"


def test_there_is_no_import_cycle():
    # Each package's __init__ may gather its own modules (an ``import pipeline.stages.qc`` runs
    # it); an edge from a module to the __init__ of a package it is in is not a real dependency.
    def edges(m):
        return [t for t in GRAPH[m] if not m.startswith(t + ".")]

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in edges(m):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in GRAPH:
        if m not in state:
            visit(m)


def test_the_checker_sees_imports_inside_functions():
    """cli/screen.py imports the job inside a function only (for a fast --help); the graph has it."""
    tree = ast.parse((ROOT / "cli" / "screen.py").read_text(encoding="utf-8"))
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert "job" not in top
    assert "pipeline.job" in GRAPH["pipeline.cli.screen"]


#: The layers the diagram of docs/architecture.md draws with arrows (the shared ones it lists in words).
DRAWN = {"cli", "job", "stages", "io", "engine"}
DOC = ROOT.parent / "docs" / "architecture.md"


def drawn_arrows() -> set[tuple[str, str]]:
    """The arrows of the layer rule's diagram in docs/architecture.md (``a ──▶ b ──▶ c`` is a→b, b→c)."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## The layer rule", 1)[1].split("```", 2)[1]
    arrows = set()
    for line in block.splitlines():
        parts = [p.strip(" ─└┘│").split() or [""] for p in line.split("▶")]
        arrows |= {(a[-1], b[0]) for a, b in zip(parts, parts[1:]) if a[-1] in DRAWN and b[0] in DRAWN}
    return arrows


def test_the_docs_draw_the_arrows_the_rule_allows():
    allowed = {(a, b) for a in DRAWN for b in ALLOWED[a] if b in DRAWN}
    assert drawn_arrows() == allowed


def test_the_job_package_mirrors_the_cli():
    """One job module per command module of cli/ (but the sample, which runs no job)."""
    commands = {p.stem for p in (ROOT / "cli").glob("*.py")} - {"__init__", "app", "options", "help", "sample"}
    jobs = {p.stem for p in (ROOT / "job").glob("*.py")}
    assert commands <= jobs, f"commands without a job module: {sorted(commands - jobs)}"


def test_only_the_screening_job_reaches_the_streaming_machinery():
    users = sorted(m for m, targets in GRAPH.items() if "pipeline.job.streaming" in targets)
    assert users == ["pipeline.job.screen"]


# --- Small rooms: no module over 600 lines, no function over 80 ---------------------------------

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
#: Temporary exceptions, each owned by the issue that splits it: remove the entry when it lands
#: (the last test fails on an entry that is no longer needed).
LONG_MODULES: dict[str, str] = {}
LONG_FUNCTIONS: dict[str, str] = {}


def _module_lines() -> dict[str, int]:
    return {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in ROOT.rglob("*.py")}


def _function_lines() -> dict[str, int]:
    out = {}
    for p in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = f"{p.relative_to(ROOT)}:{node.name}"
                out[key] = max(out.get(key, 0), node.end_lineno - node.lineno + 1)
    return out


def test_no_module_is_over_600_lines():
    long = {m: n for m, n in _module_lines().items() if n > MAX_MODULE_LINES and m not in LONG_MODULES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_80_lines():
    long = {f: n for f, n in _function_lines().items() if n > MAX_FUNCTION_LINES and f not in LONG_FUNCTIONS}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_every_exception_is_still_needed():
    modules, functions = _module_lines(), _function_lines()
    fixed = [m for m in LONG_MODULES if modules.get(m, 0) <= MAX_MODULE_LINES]
    fixed += [f for f in LONG_FUNCTIONS if functions.get(f, 0) <= MAX_FUNCTION_LINES]
    assert not fixed, f"within the limits now: remove them from the exceptions: {fixed}"
