"""Packages of mrs_assist import each other without cycles, counting imports at module level
and inside functions alike (read from the source with ast, so lazy imports count too)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

import mrs_assist

PACKAGE = Path(mrs_assist.__file__).parent


def _unit(module: str) -> str:
    """The room a module belongs to: its first package below mrs_assist (or the top-level module)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def import_graph() -> dict[str, dict[str, list[str]]]:
    """unit → imported unit → ["file:line", …], for every import of another mrs_assist unit."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [target] + ([f"{target}.{a.name}" for a in node.names] if target == "mrs_assist" else [])
            for target in targets:
                if not target.startswith("mrs_assist.") or target == "mrs_assist":
                    continue
                src, dst = _unit(module), _unit(target)
                if src != dst:
                    graph[src][dst].append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Every strongly connected group of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_imports_inside_functions(tmp_path):
    graph = import_graph()
    # service.py imports mrs_assist.extract inside Services.determine only.
    assert any(where.startswith("service.py") for where in graph["service"]["extract"])
    assert cycles({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_packages():
    graph = import_graph()
    found = cycles(graph)
    detail = [
        f"{' ↔ '.join(group)}: "
        + "; ".join(f"{a}→{b} ({', '.join(graph[a][b][:3])})" for a in group for b in group if b in graph.get(a, {}))
        for group in found
    ]
    assert not found, "\n".join(detail)


NEVER = [
    # (importer, imported): sideways imports removed in issue 22; each stays gone.
    ("answer", "letters"),  # answer validation gets the fixed vocabulary from its caller
    ("fhir", "letters"),  # the coded denial reason is criteria's (criteria/reasons.py)
    ("validate", "extract"),  # the quarantine patterns and ASCII lowering live below both (quarantine, normalize)
    ("schemas", "criteria"),  # the contract is the bottom layer; criteria builds its trace types
    ("records", "letters"),  # the store persists; the service renders a record's letter (letters.model.record_letter)
]


@pytest.mark.parametrize(("importer", "imported"), NEVER, ids=[f"{a}-{b}" for a, b in NEVER])
def test_never_imports(importer, imported):
    where = import_graph().get(importer, {}).get(imported, [])
    assert not where, f"{importer} must never import {imported}: {', '.join(where)}"


def test_importing_the_api_does_not_load_langchain():
    code = "import sys, mrs_assist.api.app; print(sorted(m for m in sys.modules if m.startswith('langchain')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
