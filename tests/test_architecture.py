"""The shape of the code: no import cycle, no import from a higher layer, no oversized module.

The import graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` of one of the packages' own modules, at module level or inside a function
(only ``if TYPE_CHECKING:`` blocks are left out, they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("packages/*/src"))

MAX_LINES = 800
"""No source file in ``packages/*/src`` is longer: a module has one job."""

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "ogma.errors",
            "ogma.types",
            "ogma.paths",
            "ogma.formats",
            "ogma.heap",  # malloc_trim after large frees: standard library only
            "ogma.validation",
            "ogma.registry",
            "ogma.cpu",
            "ogma.model_cache",
            "ogma.chunking",
            "ogma.record_text",
            "ogma.fusion",
            "ogma.blend",  # the rerank blend: numpy and ogma.fusion only
            "ogma.compress",
            "ogma.tokenize",
            "ogma.inference",
            "ogma.windows",
        ),
    ),
    (
        "models",
        (
            "ogma.convert",
            "ogma.disk_cache",
            "ogma.hub",
            "ogma.model_config",
            "ogma.runtime",
            "ogma.backends",
            "ogma.encoder",
            "ogma.rerank",
        ),
    ),
    (
        "store language",  # what every backend shares: records, protocol, filters, checks, ranking glue
        (
            "ogma.store.document",
            "ogma.store.protocol",
            "ogma.store.filters",
            "ogma.store.validate",
            "ogma.store.encoding",
            "ogma.store.config",
            "ogma.store.settings",
            "ogma.store.field_types",
            "ogma.store.ranking",
            "ogma.store.search_args",
            "ogma.store.mmr",
            "ogma.store.vector_input",
            "ogma.store.windows",
            "ogma.store.fingerprint",
            "ogma.store.uri_syntax",
            "ogma.distributed.files",  # the embeddings Parquet layout, read by ogma.store.parquet
        ),
    ),
    ("store pipeline", ("ogma.store.pipeline",)),
    ("store backends", ("ogma.store.sqlite", "ogma.store.milvus")),
    ("store tools", ("ogma.store.uri", "ogma.store.migrate", "ogma.store.parquet", "ogma.store")),
    ("applications", ("ogma.sources", "ogma.evaluate", "ogma.distributed")),
    ("interfaces", ("ogma.cli", "ogma")),
    ("adapters", ("langchain_ogma", "llama_index", "haystack_integrations")),
]
"""Low to high; a module may import its own layer and lower ones. The longest prefix decides."""

SEPARATE = [("ogma.store.sqlite", "ogma.store.milvus")]
"""Packages that never import each other (a backend knows no other backend)."""


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for src in SOURCES:
        for path in src.rglob("*.py"):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def _edges(module: str, path: Path) -> set[str]:
    """The package modules ``module`` imports."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
            continue
        base = node.module or ""
        if node.level:
            parent = package[: len(package) - (node.level - 1)]
            base = ".".join([*parent, base] if base else parent)
        for alias in node.names:
            name = f"{base}.{alias.name}"
            if name in MODULES:
                found.add(name)
            elif base in MODULES:
                found.add(base)
    found.discard(module)
    return found


GRAPH = {module: _edges(module, path) for module, path in MODULES.items()}


def _layer(module: str) -> int:
    best, level = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), index
    return level


def test_the_graph_is_read() -> None:
    assert "ogma.store.pipeline" in GRAPH["ogma.store.sqlite.store"]
    assert "ogma.store.milvus.store" in GRAPH["ogma.store.uri"]  # an import inside a function counts


def test_every_module_has_a_layer() -> None:
    assert [module for module in MODULES if _layer(module) < 0] == []


def test_no_module_imports_a_higher_layer() -> None:
    wrong = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert wrong == []


@pytest.mark.parametrize(("a", "b"), SEPARATE)
def test_backends_do_not_import_each_other(a: str, b: str) -> None:
    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    crossing = [
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if (inside(module, a) and inside(target, b)) or (inside(module, b) and inside(target, a))
    ]
    assert crossing == []


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
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    assert _cycles(GRAPH) == []


def test_no_source_file_is_oversized() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in MODULES.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
