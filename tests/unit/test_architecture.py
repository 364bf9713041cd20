"""The layout holds as the README's "Architecture: what lives where" draws it.

Read from the source (no imports run): each layer imports only those below it, no module imports
itself back through others at import time, and no module of the product grows past the house's
size. A change that breaks one of these fails here, with the modules named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("services", "api", "components", "pages", "commands")
#: What each layer must not import (the layers above it, and Dash for the domain).
FORBIDDEN = {
    "services": ("dash", "dash_bootstrap_components", "dash_ag_grid", "pages", "components", "api", "app"),
    "api": ("pages", "components"),
    "components": ("pages",),  # the web gate's session (api.sessions) is the same web layer
}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported (imports inside functions run later, on use)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{alias.name}" for alias in node.names}
            # ``from package import submodule`` needs the submodule, not names of the package's __init__
            names |= subs if subs <= MODULES.keys() else {node.module} | (subs & MODULES.keys())
    return names


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_those_below_it(layer):
    wrong = {
        name: sorted(i for i in _all_imports(path) if i.split(".")[0] in FORBIDDEN[layer])
        for name, path in MODULES.items() if name.split(".")[0] == layer
    }
    assert not {name: found for name, found in wrong.items() if found}


def test_no_module_imports_itself_back_at_import_time():
    graph = {name: {i for i in _top_level_imports(path) if i in MODULES and i != name}
             for name, path in MODULES.items()}
    cycles = _cycles(graph)
    assert not cycles, f"import cycles (break one edge, e.g. with a Protocol or an import on use): {cycles}"


def test_no_module_of_the_product_is_over_the_house_size():
    paths = [*MODULES.values(), *ROOT.glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    too_long = {str(p.relative_to(ROOT)): n for p in paths if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not too_long, f"split these by concern (over {MAX_LINES} lines): {too_long}"


def test_the_cycle_finder_finds_a_cycle():
    """The check above is worth something only if it sees a cycle when there is one."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            child = next(edges, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
