"""The house drawn from its source: no import cycle, and no package importing a layer above it.

The graph is every import of our own packages, read with ``ast`` from the files: module-level,
function-level (lazy) and ``TYPE_CHECKING`` imports alike, since each is a dependency a reader
must follow. An edge goes to the module imported (``from storage import schemas`` is an edge
to ``storage.schemas``), or to the package's ``__init__`` for a name defined there.
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A package imports only from its own package and from lower layers; packages
# in one layer are siblings and import nothing from each other. Drawn from the code as it is.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),  # the one calendar, the run's clock, errors, paths: imports none of ours
    # alvh, the read SDK, reads the published catalog with duckdb and needs only core:
    # `import alvh` stays light, so it sits beside storage, not on it.
    ("storage", "alvh"),
    # The checks and the gate: a producer (a source adapter, the feature build) declares the
    # rules its table must pass with validations' types, so validations sits below them.
    ("validations",),
    ("sources", "features"),
    ("hedge",),  # rules over the features
    # The demo market produces the provider files the sources read (through their writers,
    # issue 16) with option prices; only the demo flow runs it.
    ("backtest", "demo_market"),
    ("flows",),  # the application: flows, CLI, API, settings
)
PACKAGES = tuple(p for layer in LAYERS for p in layer)
LAYER_OF = {p: i for i, layer in enumerate(LAYERS) for p in layer}
ORCHESTRATOR = "prefect"  # DESIGN.md: only flows imports it

# Cycles in files this change does not own, each with why it stays for now.
Edges = dict[str, dict[str, str]]  # module -> {imported module: "file:line" of the import}


def module_files() -> dict[str, Path]:
    """Every module of our packages by dotted name (a package by its ``__init__``)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, path: Path) -> list[tuple[str, int]]:
    """Each dotted name an import statement of ``module`` names, with its line."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package holding this module
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}".rstrip(".")
            names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return names


def owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted name lives in (its longest prefix that is one of ours)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


@cache
def graph() -> Edges:
    """Module -> the modules of ours it imports."""
    modules = module_files()
    edges: Edges = {m: {} for m in modules}
    for module, path in modules.items():
        for name, line in imported_names(module, path):
            target = owner(name, modules)
            if target and target != module:
                edges[module].setdefault(target, f"{path.relative_to(ROOT)}:{line}")
    return edges


def cycles(edges: Edges) -> list[list[str]]:
    """One shortest cycle per strongly connected set of modules (Tarjan), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = set(stack[stack.index(node):])
            del stack[stack.index(node):]
            if len(members) > 1:
                found.append(shortest_cycle(edges, min(members), members))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def shortest_cycle(edges: Edges, start: str, members: set[str]) -> list[str]:
    """The shortest import path from ``start`` back to itself inside ``members``."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(edges[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")


def explain(path: list[str], edges: Edges) -> str:
    """A cycle as ``a -> b -> a`` and, per step, the line that imports."""
    steps = "".join(f"\n    {edges[a][b]}: {a} imports {b}" for a, b in pairwise(path))
    return " -> ".join(path) + steps


def test_no_import_cycle():
    edges = graph()
    found = cycles(edges)
    assert not found, "import cycle(s):\n  " + "\n  ".join(explain(c, edges) for c in found)


def test_no_package_imports_a_layer_above_or_beside_it():
    edges = graph()
    wrong = [f"{where}: {a} imports {b}" for a, targets in edges.items()
             for b, where in targets.items()
             if (pa := a.split(".")[0]) != (pb := b.split(".")[0])
             and LAYER_OF[pb] >= LAYER_OF[pa]]
    assert not wrong, ("wrong-way import(s), layers lowest first "
                       f"{[list(layer) for layer in LAYERS]}:\n  " + "\n  ".join(sorted(wrong)))


def test_every_package_has_a_layer():
    tops = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert tops - {"tests", "bench"} <= set(PACKAGES)


def in_cli(module: str) -> bool:
    return module == "flows.cli" or module.startswith("flows.cli.")


def test_the_cli_is_the_top_the_commands_import_the_app():
    edges = graph()
    into_cli = [f"{where}: {a} imports {b}" for a, targets in edges.items()
                for b, where in targets.items() if in_cli(b) and not in_cli(a)]
    assert not into_cli, "only the CLI imports the CLI:\n  " + "\n  ".join(into_cli)
    commands = [b for b in edges["flows.cli.app"] if in_cli(b)]
    assert not commands, f"flows.cli.app imports its commands {commands}: they import it"


def test_only_flows_imports_the_orchestrator():
    outside = [f"{path.relative_to(ROOT)}:{line}"
               for module, path in module_files().items() if not module.startswith("flows")
               for name, line in imported_names(module, path)
               if name.split(".")[0] == ORCHESTRATOR]
    assert not outside, "prefect imported outside flows/:\n  " + "\n  ".join(outside)
