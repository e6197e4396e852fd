"""The shape of server/, computed from the code (docs/architecture.md, "Domains").

Every ``import`` in server/ is read (at the top of a module or inside a function alike) and
mapped to its domain, a package under server/. The tests fail on a loop between domains
(naming the imports that close it), on an import that goes up the ladder
(``server.domains.LADDER``), on an import past another domain's face (its package
``__init__`` and the names in its ``__all__``), and on a core module that imports a domain.
A new module or domain is covered without editing anything here.
"""

from __future__ import annotations

import ast
import functools
import pathlib
from collections import defaultdict
from dataclasses import dataclass

import pytest

from server import domains

SERVER = pathlib.Path(__file__).resolve().parents[1] / "server"
# Top-level modules that put the domains together (and may import any of them): the rest
# of the top level is the core every domain builds on.
COMPOSITION = {"main", "worker", "cli", "demo", "devserver", "asgi", "models", "domains"}


@dataclass(frozen=True)
class Import:
    source: str  # module that imports
    line: int
    target: str  # module imported (a package, a module, or a name's module)
    names: tuple[str, ...]  # the names taken from it (``from x import a, b``), else ()

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.source}:{self.line} imports {self.target}{taken}"


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _imports(roots: tuple[str, ...] = ("server",)) -> tuple[Import, ...]:
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in roots:
                        found.append(Import(module, node.lineno, alias.name, ()))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                if target.split(".")[0] in roots:
                    names = tuple(alias.name for alias in node.names)
                    found.append(Import(module, node.lineno, target, names))
    return tuple(found)


@functools.cache
def _domain_names() -> frozenset[str]:
    return frozenset(p.name for p in SERVER.iterdir() if (p / "__init__.py").is_file())


def _domain(module: str) -> str | None:
    """The domain of a module (server.<domain>....), None for the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in _domain_names() else None


@functools.cache
def _exported(domain: str) -> set[str]:
    tree = ast.parse((SERVER / domain / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def _between_domains() -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in _imports():
        source, target = _domain(imp.source), _domain(imp.target)
        if target is None and imp.target == "server":
            targets = {n for n in imp.names if n in _domain_names()}
        else:
            targets = {target} if target else set()
        for t in targets:
            if source is not None and t != source:
                edges[(source, t)].append(imp)
    return edges


def _loops(edges: dict[tuple[str, str], list[Import]]) -> list[list[str]]:
    """Strongly connected components of more than one domain (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_loop_between_domains() -> None:
    edges = _between_domains()
    rung = {name: i for i, name in enumerate(domains.LADDER)}
    problems = []
    for component in _loops(edges):
        inside = [
            ((a, b), imp)
            for (a, b), imports in sorted(edges.items())
            if a in component and b in component
            for imp in imports
        ]
        # The imports that close the loop: those running up the ladder (all, if the ladder
        # does not order these domains).
        closing = [imp for (a, b), imp in inside if rung.get(b, -1) > rung.get(a, -1)] or [
            imp for _, imp in inside
        ]
        problems.append(
            f"domains {component} import each other; closed by:\n    "
            + "\n    ".join(map(str, closing))
        )
    assert not problems, "\n".join(problems)


def test_domains_import_only_down_the_ladder() -> None:
    rung = {name: i for i, name in enumerate(domains.LADDER)}
    assert set(rung) == _domain_names(), "server.domains.LADDER lists every domain once"
    upward = [
        f"{imp} (a {a} module imports only these: {', '.join(domains.LADDER[: rung[a]])})"
        for (a, b), imports in sorted(_between_domains().items())
        if rung[b] > rung[a]
        for imp in imports
    ]
    assert not upward, "\n".join(upward)


def test_domains_meet_only_at_faces() -> None:
    past = []
    for (_, b), imports in sorted(_between_domains().items()):
        face = _exported(b)
        for imp in imports:
            if imp.target == "server":
                continue  # ``from server import tickets``: the face itself
            if imp.target == f"server.{b}.http" and _at_http_edge(imp.source):
                continue  # a domain's HTTP face, for routers
            if imp.target != f"server.{b}" or not set(imp.names) <= face:
                hidden = sorted(set(imp.names) - face) or [imp.target]
                past.append(f"{imp}: not in server/{b}/__init__.py __all__: {hidden}")
    assert not past, "\n".join(past)


def test_core_imports_no_domain() -> None:
    core = [
        imp
        for imp in _imports()
        if _domain(imp.source) is None
        and imp.source.split(".")[-1] not in COMPOSITION
        and (
            _domain(imp.target) is not None
            or (imp.target == "server" and set(imp.names) & _domain_names())
        )
    ]
    assert not core, "the core imports no domain:\n" + "\n".join(map(str, core))


def test_every_face_names_what_it_exports() -> None:
    for domain in sorted(_domain_names()):
        init = (SERVER / domain / "__init__.py").read_text(encoding="utf-8")
        if "import" in init:
            assert _exported(domain), f"server/{domain}/__init__.py imports without __all__"


# The HTTP edge: every module named router or http, and the core modules that make the app.
EDGE_CORE = {"server.main", "server.deps", "server.http", "server.middleware", "server.asgi"}


def _is_router(module: str) -> bool:
    return module.rsplit(".", 1)[-1] == "router"


def _at_http_edge(module: str) -> bool:
    return module in EDGE_CORE or module.rsplit(".", 1)[-1] in ("router", "http")


def test_fastapi_only_at_the_http_edge() -> None:
    outside = [
        str(imp) for imp in _imports(("fastapi", "starlette")) if not _at_http_edge(imp.source)
    ]
    assert not outside, "FastAPI belongs to routers and the HTTP core:\n" + "\n".join(outside)


def test_routers_never_import_routers() -> None:
    known = {_module_name(p) for p in SERVER.rglob("*.py")}
    crossing = []
    for imp in _imports():
        if not _is_router(imp.source) or imp.source == "server.main":
            continue
        targets = {imp.target} | {f"{imp.target}.{n}" for n in imp.names}
        if any(_is_router(t) and t in known and t != imp.source for t in targets):
            crossing.append(str(imp))
    assert not crossing, "\n".join(crossing)


def test_layers_router_service_models() -> None:
    """Nothing below the HTTP edge imports it; models import no service."""
    known = {_module_name(p) for p in SERVER.rglob("*.py")}
    wrong = []
    for imp in _imports():
        if _at_http_edge(imp.source) or imp.source.split(".")[-1] in COMPOSITION:
            continue
        targets = {imp.target} | {f"{imp.target}.{n}" for n in imp.names}
        targets &= known
        if any(_at_http_edge(t) for t in targets):
            wrong.append(f"{imp}: the HTTP edge")
        if imp.source.endswith(".models") and any(
            t.rsplit(".", 1)[-1] == "service" for t in targets
        ):
            wrong.append(f"{imp}: a service, from models")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("edges", "loop"),
    [
        ({("a", "b"): [], ("b", "c"): [], ("c", "a"): []}, [["a", "b", "c"]]),
        ({("a", "b"): [], ("b", "c"): []}, []),
    ],
)
def test_the_loop_finder_finds_loops(
    edges: dict[tuple[str, str], list[Import]], loop: list[list[str]]
) -> None:
    assert _loops(edges) == loop
