"""The package layering holds: no module-level import cycle anywhere, every module imports
first in a fresh interpreter, and text2lips/ (the library) never imports the sidecar, the
engine build tool, the benchmarks or the tests.

Cycles are found statically (ast) over the imports that run when a module loads (module
level, outside `if TYPE_CHECKING:`); imports inside functions are how an optional heavy
dependency stays lazy and are not edges. The fresh-interpreter import then catches what the
static graph cannot (an import that only fails in one order).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("text2lips", "sidecar", "engine_build", "benchmarks")
FORBIDDEN_FROM_LIBRARY = ("sidecar", "engine_build", "benchmarks", "tests")
GENERATED = ("text2lips.v1",)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for file in sorted((REPO / pkg).rglob("*.py")):
            parts = file.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if not name.startswith(GENERATED):
                out[name] = file
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, is_pkg: bool, *, top_only: bool) -> set[str]:
    """Modules named by the import statements of `tree` (resolved relative imports)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = module.split(".")
                    pkg = pkg if is_pkg else pkg[:-1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
            elif top_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                ast.ClassDef)):
                if isinstance(node, ast.ClassDef):
                    visit(node.body)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        visit([n for n in inner if isinstance(n, ast.stmt)]
                              + [s for h in inner if isinstance(h, ast.ExceptHandler)
                                 for s in h.body])

    visit(tree.body)
    return found


def _graph(top_only: bool) -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, file in mods.items():
        tree = ast.parse(file.read_text(), str(file))
        names = _imports(tree, name, file.name == "__init__.py", top_only=top_only)
        edges = set()
        for n in names:
            # `import a.b.c` also runs a/__init__ and a/b/__init__; those are edges too.
            parts = n.split(".")
            edges.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        # A package's submodule always runs its package's __init__ first; that is not an edge
        # back, so only edges to other known project modules count.
        graph[name] = {e for e in edges if e in mods and e != name
                       and not name.startswith(e + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_module_level_import_cycle() -> None:
    assert _cycles(_graph(top_only=True)) == []


def test_the_library_never_imports_the_tools_around_it() -> None:
    bad = {
        name: sorted(e for e in _imports(ast.parse(file.read_text()), name,
                                          file.name == "__init__.py", top_only=False)
                     if e.split(".")[0] in FORBIDDEN_FROM_LIBRARY)
        for name, file in _modules().items() if name.split(".")[0] == "text2lips"
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\n"
                     "def f():\n    import y\ntry:\n    import z\nexcept ImportError:\n"
                     "    import w\nfrom . import sib\n")
    assert _imports(tree, "p.m", False, top_only=True) == {
        "typing", "typing.TYPE_CHECKING", "z", "w", "p", "p.sib"}


# Each module imported first, with every project module dropped from sys.modules between,
# so a cycle that only breaks when entered from one side shows up.
_IMPORT_EACH = """
import importlib, json, sys
names, packages = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))
failed = {}
for name in names:
    for m in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[m]
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in packages:
            failed[name] = repr(exc)
    except Exception as exc:
        failed[name] = repr(exc)
print(json.dumps(failed))
"""


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    names = [n for n in _modules() if not n.endswith("__main__")]
    proc = subprocess.run([sys.executable, "-c", _IMPORT_EACH, json.dumps(names),
                           json.dumps(PACKAGES)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {}
