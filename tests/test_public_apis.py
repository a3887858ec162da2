"""Dependencies are used through their public APIs only (DEVELOPERS.md): the sources are scanned,
and a private module, a private name of another package or a monkeypatch fails the suite.

What counts as private, read from the syntax alone:
- a module whose dotted path has a component starting with `_`, or any submodule of uvicorn
  (its public API is the top-level package: `uvicorn.Config`, `uvicorn.Server`, `uvicorn.run`);
- a name starting with `_` (not a dunder) imported from another package, or read from one of its
  modules (`logging._srcfile`), or read from an object (`metric._name`) when no class of ours
  defines a member of that name;
- a monkeypatch: an attribute of another package's module assigned or deleted (documented
  module flags such as `logging.logThreads` excepted), or a function of ours put in place of an
  attribute of an object that no class of ours defines (`loop.create_server = with_deadline`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWN = ("webhook", "policies", "tests", "scripts", "deploy")
SCANNED = ("webhook", "policies", "scripts", "deploy", "tests")
PUBLIC_FLAGS = {
    "logging.logThreads",
    "logging.logProcesses",
    "logging.logMultiprocessing",
    "sys.stdin",
    "sys.stdout",
    "sys.stderr",
}
"""Module attributes their documentation says may be set (the logging HOWTO's "Optimization";
the standard streams, which `sys` documents as replaceable)."""


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in OWN or not module


def _private_module(module: str) -> bool:
    parts = module.split(".")
    return (not _own(module) and any(_private(part) for part in parts)) or (
        parts[0] == "uvicorn" and len(parts) > 1
    )


@dataclass
class Members:
    """The private names our own classes define (methods, attributes): `thing._name` is ours
    when one of them is called `_name`."""

    names: set[str] = field(default_factory=set)

    def learn(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        self.names.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        self.names.add(item.target.id)
                    elif isinstance(item, ast.Assign):
                        self.names.update(t.id for t in item.targets if isinstance(t, ast.Name))
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):
                self.names.add(node.attr)


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> the module (or module.attribute) it was imported as."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def violations(source: str, members: Members) -> Iterator[tuple[int, str]]:
    """(line, what) for each use of a private API of another package in `source`."""
    tree = ast.parse(source)
    imported = _imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from _import(node)
        elif isinstance(node, ast.Attribute):
            yield from _attribute(node, imported, members)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            target = node.args[0] if node.args else None
            if node.func.id in ("setattr", "delattr") and isinstance(target, ast.Name):
                module = imported.get(target.id)
                if module is not None and not _own(module):
                    yield node.lineno, f"{node.func.id} on {module} (a monkeypatch)"


def _import(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[int, str]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if _private_module(alias.name):
                yield node.lineno, f"import of the private module {alias.name}"
    elif node.module and node.level == 0:
        if _private_module(node.module):
            yield node.lineno, f"import from the private module {node.module}"
        elif not _own(node.module):
            for alias in node.names:
                if _private(alias.name):
                    yield node.lineno, f"private name {alias.name} of {node.module}"


def _attribute(
    node: ast.Attribute, imported: dict[str, str], members: Members
) -> Iterator[tuple[int, str]]:
    owner = node.value
    module = imported.get(owner.id) if isinstance(owner, ast.Name) else None
    foreign_module = module is not None and not _own(module)
    where = f"{module}.{node.attr}" if module else f"....{node.attr}"
    if isinstance(node.ctx, ast.Store | ast.Del):
        if foreign_module and where not in PUBLIC_FLAGS:
            yield node.lineno, f"{where} replaced (a monkeypatch)"
        return
    if not _private(node.attr):
        return
    if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
        return
    if foreign_module:
        yield node.lineno, f"private name {where}"
    elif module is None and node.attr not in members.names:
        yield node.lineno, f"private name {node.attr} of an object no class of ours defines"


def _replacements(tree: ast.Module, members: Members) -> Iterator[tuple[int, str]]:
    """Functions of ours assigned to attributes no class of ours defines."""
    functions = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        value = node.value
        patched = isinstance(value, ast.Lambda) or (
            isinstance(value, ast.Name) and value.id in functions
        )
        for target in node.targets:
            if (
                patched
                and isinstance(target, ast.Attribute)
                and not (isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"))
                and (target.attr not in members.names or target.attr.startswith("__"))
            ):
                yield node.lineno, f"a function put in place of .{target.attr} (a monkeypatch)"


def _sources() -> list[Path]:
    return sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))


@pytest.fixture(scope="module")
def members() -> Members:
    known = Members()
    for path in _sources():
        known.learn(ast.parse(path.read_text(encoding="utf-8")))
    return known


def check(source: str, members: Members) -> list[tuple[int, str]]:
    """Every violation in `source`, whose own classes count as ours too."""
    known = Members(set(members.names))
    known.learn(ast.parse(source))
    found = list(violations(source, known))
    found.extend(_replacements(ast.parse(source), known))
    return sorted(found)


def test_no_private_api_of_a_dependency_is_used(members: Members) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _sources()
        for line, what in check(path.read_text(encoding="utf-8"), members)
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "from uvicorn.protocols.http.h11_impl import H11Protocol",
        "import uvicorn.protocols.http.httptools_impl",
        "from uvicorn.server import ServerState",
        "import httptools._parser",
        "from prometheus_client.registry import _EmptyCollector",
        "import logging\nlogging._srcfile = None",
        "import logging\nprint(logging._srcfile)",
        "def f(metric):\n    return metric._name",
        "def f(registry):\n    return registry._collector_to_names",
        "import asyncio\nasyncio.get_event_loop = None",
        "import ssl\nsetattr(ssl, 'create_default_context', None)",
        "def f(loop):\n    def with_deadline(): pass\n    loop.create_server = with_deadline",
        "def f(app):\n    app.__call__ = lambda *a: None",
    ],
)
def test_the_check_finds_each_kind_of_private_use(source: str, members: Members) -> None:
    assert check(source, members), source


@pytest.mark.parametrize(
    "source",
    [
        "import uvicorn\nconfig = uvicorn.Config(app)",
        "from webhook.server import logs\nlogs._direct.stream = None",
        "import logging\nlogging.logThreads = False",
        "class A:\n    def __init__(self):\n        self._x = 1\n    def f(self, other):\n"
        "        return other._x",
        "def f(context, select):\n    context.sni_callback = select",
        "def f(server):\n    server.should_exit = True",
    ],
)
def test_public_uses_pass(source: str, members: Members) -> None:
    assert check(source, members) == [], source
