"""The package's import graph, read from the source (nothing is imported): no cycles, lazy imports included
(an import inside a function is still an arrow), and no arrow from a lower layer up to a higher one.

Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package it is mapped to by [tool.setuptools.package-dir]
PACKAGES = {
    "toolkit": "edgekit",
    "exporters": "edgekit.exporters",
    "runtimes": "edgekit.runtimes",
    "calibration_data": "edgekit.calibration_data",
}
#: (importer prefix, imported prefix) arrows that point upward; ``data`` may read the task registry and the
#: letterbox geometry (leaf modules: they import nothing of edgekit but its errors), not the evaluators
FORBIDDEN = [
    ("edgekit.manifest", "edgekit.convert"),
    ("edgekit.card", "edgekit.convert"),
    ("edgekit.results", "edgekit.convert"),
    ("edgekit.models", "edgekit.compress"),
    ("edgekit.data", "edgekit.tasks.evaluation"),
    ("edgekit.data", "edgekit.tasks.detection"),
    ("edgekit.data", "edgekit.tasks.pose"),
    ("edgekit.tasks.registry", "edgekit.data"),
    ("edgekit.tasks.boxes", "edgekit.data"),
    ("edgekit.report.check", "edgekit.report.gate"),
    ("edgekit.report.gate", "edgekit.report.confirm"),
    ("edgekit.bench", "edgekit.convert"),
    ("edgekit.bench", "edgekit.compress"),
    ("edgekit.data", "edgekit.bench"),
]
TASK_LEAVES = ("edgekit.tasks.registry", "edgekit.tasks.boxes")


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return skipped


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            stem = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join(stem + ([node.module] if node.module else []))
            found |= {f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {module for module in found if module in modules and module != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
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
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_package_has_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_points_up_a_layer():
    graph = _graph()
    upward = [
        f"{importer} -> {imported}"
        for importer, imports in graph.items()
        for imported in imports
        for low, high in FORBIDDEN
        if _under(importer, low) and _under(imported, high)
    ]
    assert upward == []


def test_the_task_leaves_data_reads_import_nothing_of_edgekit_but_errors():
    graph = _graph()
    for leaf in TASK_LEAVES:
        assert graph[leaf] <= {"edgekit.errors"}, (leaf, graph[leaf])
