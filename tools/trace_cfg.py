"""Follow ``cfg`` from the screening job through its calls, and count the returns to a module
already left (issue 18's measure of a hub: each time the walk comes back into a module it had left).

    python tools/trace_cfg.py                      # this checkout: pipeline.job.screen.run (or pipeline.job.run)
    python tools/trace_cfg.py --root OTHER/pipeline --entry pipeline.job.run

A static walk (``ast``), depth first from the entry function, each function expanded once. A call
is followed when one of its arguments carries the configuration: the entry's ``cfg`` parameter, a
name assigned from an expression that uses a carried name (``stream_job = StreamJob(cfg, ...)``,
``s = cfg.screening``), an attribute of one (``job.cfg.qc``), or ``self`` of a method whose object
carries it; in the callee, the parameters bound to such arguments carry it in turn. Callees are
resolved through the module's imports and definitions (functions, classes' ``__init__`` and
``__call__``, ``partial(f, ...)``, ``self.method``); calls outside ``pipeline`` end the walk.

The walk is the sequence of modules control passes through, calls and returns. It prints that
sequence (collapsed), the visits per module and the count of moves into a module already left.
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Func:
    module: str
    qualname: str
    node: ast.FunctionDef
    cls: str | None = None


@dataclass
class Index:
    root: Path
    funcs: dict[tuple[str, str], Func] = field(default_factory=dict)
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # module -> local name -> "module:name"
    modules: set[str] = field(default_factory=set)

    def load(self) -> Index:
        for path in sorted(self.root.rglob("*.py")):
            parts = list(path.relative_to(self.root.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            self.modules.add(".".join(parts))
        for path in sorted(self.root.rglob("*.py")):
            self._module(path)
        return self

    def _name(self, path: Path) -> tuple[str, str]:
        parts = list(path.relative_to(self.root.parent).with_suffix("").parts)
        package = ".".join(parts[:-1])
        if parts[-1] == "__init__":
            parts.pop()
            package = ".".join(parts)
        return ".".join(parts), package

    def _module(self, path: Path) -> None:
        me, package = self._name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    full = f"{target}.{a.name}"
                    names[a.asname or a.name] = full if full in self.modules else f"{target}:{a.name}"
        self.imports[me] = names
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                self.funcs[(me, node.name)] = Func(me, node.name, node)
            elif isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef):
                        self.funcs[(me, f"{node.name}.{sub.name}")] = Func(
                            me, f"{node.name}.{sub.name}", sub, node.name
                        )

    def resolve(self, module: str, name: str, seen: int = 0) -> Func | None:
        """The function ``name`` means in ``module`` (a class: its ``__init__``, else ``__call__``)."""
        if seen > 10:
            return None
        for q in (name, f"{name}.__init__", f"{name}.__call__"):
            if (module, q) in self.funcs:
                return self.funcs[(module, q)]
        target = self.imports.get(module, {}).get(name)
        if target is None or ":" not in target:
            return None
        mod, sub = target.split(":")
        return self.resolve(mod, sub, seen + 1) if mod in self.modules else None


#: Follow the whole configuration only (``cfg``, a container of it, ``job.cfg``), not its sections.
WHOLE = False


def _uses(expr: ast.AST, carried: set[str]) -> bool:
    if not WHOLE:
        return any(isinstance(n, ast.Name) and n.id in carried for n in ast.walk(expr))
    if isinstance(expr, ast.Name):
        return expr.id in carried
    if isinstance(expr, ast.Attribute):  # job.cfg, not cfg.screening
        return expr.attr == "cfg" and _uses(expr.value, carried)
    if isinstance(expr, ast.Call):  # a container built with it
        return any(_uses(a, carried) for a in expr.args) or any(_uses(k.value, carried) for k in expr.keywords)
    if isinstance(expr, (ast.Tuple, ast.List)):
        return any(_uses(e, carried) for e in expr.elts)
    return False


def _callee(index: Index, fn: Func, call: ast.Call) -> tuple[Func | None, list[ast.expr], list[ast.keyword]]:
    f, args, kws = call.func, list(call.args), list(call.keywords)
    if isinstance(f, ast.Name) and f.id == "partial" and args:
        return _callee(index, fn, ast.Call(func=args[0], args=args[1:], keywords=kws))
    if isinstance(f, ast.Name):
        return index.resolve(fn.module, f.id), args, kws
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        if f.value.id == "self" and fn.cls is not None:
            return index.funcs.get((fn.module, f"{fn.cls}.{f.attr}")), args, kws
        target = index.imports.get(fn.module, {}).get(f.value.id)
        if target is not None and target in index.modules:
            return index.resolve(target, f.attr), args, kws
    return None, args, kws


def _carried_params(callee: Func, args: list[ast.expr], kws: list[ast.keyword], carried: set[str]) -> set[str]:
    a = callee.node.args
    params = [p.arg for p in a.posonlyargs + a.args]
    if callee.cls is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    out = {p for p, e in zip(params, args) if _uses(e, carried)}
    out |= {k.arg for k in kws if k.arg is not None and _uses(k.value, carried)}
    return out


def walk(index: Index, entry: Func, carried: set[str], trace: list[str], done: set[tuple[str, str]]) -> None:
    done.add((entry.module, entry.qualname))
    carried = set(carried)
    if entry.cls is not None and "self" not in carried and carried:
        carried.add("self")  # a method of an object built from the configuration
    for node in ast.walk(entry.node):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                value = node.value
                if isinstance(t, ast.Tuple) and isinstance(value, ast.Tuple) and len(t.elts) == len(value.elts):
                    pairs = list(zip(t.elts, value.elts))  # a, b = x, y: each name from its own value
                else:
                    pairs = [(t, value)]
                for target, v in pairs:
                    if _uses(v, carried):
                        carried |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.withitem) and node.optional_vars is not None and _uses(node.context_expr, carried):
            carried |= {n.id for n in ast.walk(node.optional_vars) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.For) and _uses(node.iter, carried):
            carried |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    calls = sorted((n for n in ast.walk(entry.node) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        callee, args, kws = _callee(index, entry, call)
        if callee is None or (callee.module, callee.qualname) in done:
            continue
        params = _carried_params(callee, args, kws, carried)
        if not params and not (callee.cls is not None and _uses(call.func, carried)):
            continue
        trace.append(callee.module)
        walk(index, callee, params, trace, done)
        trace.append(entry.module)


def measure(root: Path, entry: str) -> tuple[list[str], int]:
    index = Index(root).load()
    module, name = entry.rsplit(".", 1)
    fn = index.resolve(module, name)
    if fn is None:
        raise SystemExit(f"{entry}: not found under {root}")
    trace = [fn.module]
    walk(index, fn, {"cfg"}, trace, set())
    moves = [m for i, m in enumerate(trace) if i == 0 or m != trace[i - 1]]
    returns = sum(1 for i, m in enumerate(moves) if m in moves[:i])
    return moves, returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parents[1] / "pipeline"
    parser.add_argument("--root", type=Path, default=here, help="the pipeline/ folder to read")
    parser.add_argument("--entry", default=None, help="the screening job's function (default: found)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the walk")
    parser.add_argument("--whole", action="store_true", help="follow the whole RunConfig only, not its sections")
    args = parser.parse_args()
    global WHOLE
    WHOLE = args.whole
    entry = args.entry or (
        "pipeline.job.screen.run" if (args.root / "job" / "screen.py").exists() else "pipeline.job.run"
    )
    moves, returns = measure(args.root, entry)
    if args.verbose:
        print(" -> ".join(m.removeprefix("pipeline.") for m in moves))
    visits = Counter(moves)
    print(
        f"entry {entry}: {len(moves)} moves between {len(visits)} modules; {returns} returns to a module already left"
    )
    for m, k in visits.most_common(8):
        print(f"  {m}: {k} visits")


if __name__ == "__main__":
    main()
