"""The package's import graph, read from the source (every import, those under TYPE_CHECKING and inside functions
included): it has no cycle, and only the entry points that run an agent import the supervisor."""

from __future__ import annotations

import ast
from pathlib import Path

import edge_agent

PACKAGE = Path(edge_agent.__file__).parent
SUPERVISOR = "edge_agent.agent"
# The entry points that run a whole agent: `edge-agent run` and `edge-agent demo`.
MAY_IMPORT_SUPERVISOR = {"edge_agent.cli.daemon", "edge_agent.cli.run_cmd", "edge_agent.demo.runner"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from a import b`` counts as a.b when a.b is a module)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, path.name == "__init__.py", node)
                names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in paths else source
                         for alias in node.names]
            else:
                continue
            for name in names:
                target = name
                while target and target not in paths:  # `import a.b.c` of a package's member: its module
                    target = target.rpartition(".")[0]
                if target and target != module:
                    targets.add(target)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as its modules in order (the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found is not None:
                return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_entry_points_import_the_supervisor() -> None:
    importers = {module for module, targets in import_graph().items() if SUPERVISOR in targets}
    assert importers <= MAY_IMPORT_SUPERVISOR, f"{sorted(importers - MAY_IMPORT_SUPERVISOR)} import {SUPERVISOR}"


def test_the_cycle_finder_reports_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_under_type_checking() -> None:
    graph = import_graph()
    assert "edge_agent.store.worker" in graph["edge_agent.sync.uplink"]
    assert "edge_agent.modbus.modbus_service" in graph["edge_agent.ports"]  # imported for its type only
