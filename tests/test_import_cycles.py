"""No import cycles among the product's modules, counting every import statement.

Imports inside functions and under ``if TYPE_CHECKING:`` count as well: a cycle that is
only broken by importing late is still a cycle in the design. Packages map as installed
(``models/`` is ``codegraph.models``, ``lsp/`` is ``codegraph.lsp``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "codegraph": ROOT / "codegraph",
    "codegraph.models": ROOT / "models",
    "codegraph.lsp": ROOT / "lsp",
}


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for prefix, folder in PACKAGES.items():
        for file in folder.rglob("*.py"):
            parts = list(file.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts])] = file
    return out


def imports(name: str, file: Path, known: set[str]) -> set[str]:
    """The product modules that ``file`` (module ``name``) imports anywhere in its body."""
    is_package = file.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `import a.b.c` of a name inside a module
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def import_graph() -> nx.DiGraph:
    mods = modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(mods)
    for name, file in mods.items():
        graph.add_edges_from((name, t) for t in imports(name, file, set(mods)))
    return graph


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """Each strongly connected group of more than one module (every cycle lies in one)."""
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def test_the_product_has_no_import_cycle() -> None:
    graph = import_graph()
    assert graph.number_of_nodes() > 50 and graph.has_edge("codegraph.scan", "codegraph.pipeline")
    assert cycles(graph) == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    from codegraph import b\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    known = {"codegraph.a", "codegraph.b"}
    graph = nx.DiGraph()
    for name in ("a", "b"):
        graph.add_edges_from(
            (f"codegraph.{name}", t) for t in imports(f"codegraph.{name}", tmp_path / f"{name}.py", known)
        )
    assert cycles(graph) == [["codegraph.a", "codegraph.b"]]
