"""The package reads as the pipeline runs, and no module imports another that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cipd_graph"
#: The stages, in the order a load runs them: a stage imports only earlier ones.
STAGES = ["records", "mapping", "validation", "store", "derive", "load"]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of the package ``path`` imports, anywhere but under ``if TYPE_CHECKING``
    (``from package import module`` counts as the module)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("cipd_graph"):
                names = {f"{child.module}.{a.name}" for a in child.names}
                submodules = names & modules
                found.update(submodules or {child.module or ""})
                if submodules != names:
                    found.add(child.module or "")
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {
        m: {i for i in _imports(p, set(modules)) if i in modules and i != m}
        for m, p in modules.items()
    }


def test_no_module_imports_one_that_imports_it_back():
    graph = _graph()
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, nxt]))
                elif nxt not in seen and not nxt.startswith(start + "."):
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert not cycles, cycles[:5]


def test_a_stage_imports_only_the_stages_before_it():
    graph = _graph()
    for position, stage in enumerate(STAGES):
        later = {f"cipd_graph.{s}" for s in STAGES[position + 1 :]}
        for module, imported in graph.items():
            if module == f"cipd_graph.{stage}" or module.startswith(f"cipd_graph.{stage}."):
                wrong = {i for i in imported if any(i == s or i.startswith(s + ".") for s in later)}
                assert not wrong, f"{module} imports a later stage: {sorted(wrong)}"
