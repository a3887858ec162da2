"""Reading manifests: files, directories (recursively), standard input; multi-document YAML (helm
template and kustomize output included), JSON, and `List` kinds.

Each document is parsed on its own, so a broken one (bad YAML, a list where an object belongs, no
kind) is reported with its file, position and line, and every other document is still read. Lines
come from PyYAML's node marks, so a finding can point at the container it is about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from policies.base import mapping, text

STDIN = "-"
SUFFIXES = (".yaml", ".yml", ".json")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x
_SEPARATOR = re.compile(r"---(?:[ \t]|$)")
_CONTENT = re.compile(r"^[ \t]*[^\s#%]", re.MULTILINE)

Locate = Callable[[str], "int | None"]
"""The 1-based line of a JSON pointer inside an object (None when unknown)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object was read: the file, the document's position (from 1) and first line, and
    for an entry of a `List`, its index in `items` (from 0, like the JSON pointer)."""

    file: str
    document: int
    line: int | None = None
    item: int | None = None

    @property
    def display(self) -> str:
        where = "<stdin>" if self.file == STDIN else self.file
        if self.line is not None:
            where = f"{where}:{self.line}"
        extra = f", items[{self.item}]" if self.item is not None else ""
        return f"{where}, document {self.document}{extra}"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be read: a file, or one document of it."""

    file: str
    message: str
    document: int | None = None
    line: int | None = None

    @property
    def display(self) -> str:
        where = "<stdin>" if self.file == STDIN else self.file
        if self.document is not None:
            where = f"{where}: document {self.document}"
        if self.line is not None:
            where = f"{where} (line {self.line})"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Manifest:
    """One object to audit, `pointer` being where it sits in its document (`/items/3` in a List)."""

    obj: dict[str, Any]
    source: Source
    pointer: str = ""
    locate: Locate | None = None


@dataclass(slots=True)
class Document:
    """One document as read: its text (printed back unchanged by `mutate` when it cannot be
    parsed), what it held, and the objects found in it."""

    source: Source
    text: str
    data: Any = None
    manifests: list[Manifest] = field(default_factory=list)
    problem: Problem | None = None
    first: int = 0
    """The 0-based line of the file where `text` starts (its `---` line, blanked in `text`)."""
    is_json: bool = False


@dataclass(slots=True)
class Loaded:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Every problem: unreadable paths, and the documents' own."""
    texts: dict[str, str] = field(default_factory=dict)
    """Each file's text as read (`-`: standard input), for changes written into it."""

    @property
    def manifests(self) -> Iterator[Manifest]:
        return (m for d in self.documents for m in d.manifests)


def files_of(path: Path) -> list[Path]:
    """A file as given, or the manifests under a directory (sorted, hidden entries skipped)."""
    if not path.is_dir():
        return [path]
    found = (
        p
        for p in path.rglob("*")
        if p.suffix in SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    return sorted(found)


def load(paths: Sequence[str], *, stdin: TextIO) -> Loaded:
    """Every document of every path (`-` is standard input, read once)."""
    loaded = Loaded()
    for given in paths:
        if given == STDIN:
            try:
                content = stdin.read()
            except UnicodeDecodeError as error:
                loaded.problems.append(Problem(STDIN, f"cannot read: not UTF-8 text ({error})"))
                continue
            _read(loaded, STDIN, content)
            continue
        path = Path(given)
        if not path.exists():
            loaded.problems.append(Problem(given, "no such file or directory"))
            continue
        files = files_of(path)
        if not files:
            suffixes = ", ".join(SUFFIXES)
            loaded.problems.append(Problem(given, f"no manifest in this directory ({suffixes})"))
        for file in files:
            try:
                content = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                loaded.problems.append(Problem(str(file), "cannot read: not UTF-8 text"))
                continue
            except OSError as error:
                loaded.problems.append(Problem(str(file), f"cannot read: {error.strerror}"))
                continue
            _read(loaded, str(file), content)
    return loaded


def _read(loaded: Loaded, name: str, content: str) -> None:
    loaded.texts[name] = content
    documents = list(_documents(name, content))
    loaded.documents.extend(documents)
    loaded.problems.extend(d.problem for d in documents if d.problem is not None)
    if all(d.data is None and d.problem is None for d in documents):
        # An empty file, or `helm template ... | initgate audit -f -` after helm failed: nothing
        # was judged, which must not read as "nothing to deny".
        loaded.problems.append(
            Problem(name, "holds no Kubernetes object (empty, or comments only)")
        )


def _documents(name: str, content: str) -> Iterator[Document]:
    if content.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(content)
        except ValueError:
            pass  # not JSON after all: YAML reports the error with its line
        else:
            document = _document(Source(name, 1, 1), content, data, _json_node(content), 0)
            document.is_json = True
            yield document
            return
    for number, (first, chunk) in enumerate(split(content), start=1):
        try:
            node, data = _parse(chunk)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = first + mark.line + 1 if mark is not None else first + 1
            problem = getattr(error, "problem", None) or str(error)
            document = Document(Source(name, number, line), chunk, first=first)
            document.problem = Problem(name, f"not valid YAML: {problem}", number, line)
            yield document
            continue
        line = first + node.start_mark.line + 1 if node is not None else None
        yield _document(Source(name, number, line), chunk, data, node, first)


def _json_node(content: str) -> yaml.Node | None:
    """JSON text composed as YAML (JSON is YAML's flow style), for the lines of the containers and
    volumes in it: the data itself is json.loads'. None if YAML cannot read it."""
    loader = _LOADER(content)
    node: yaml.Node | None = None
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        pass  # the lines are lost, not the data
    finally:
        loader.dispose()
    return node


def split(content: str) -> list[tuple[int, str]]:
    """The documents of a YAML stream as (first line, text), split at `---` lines like kubectl.

    Splitting before parsing keeps one broken document from hiding the rest. A `---` line is blanked
    rather than dropped (and content after it on the same line kept), so that every document's
    line numbers stay those of the file. What precedes the first `---` is a document only if it
    holds more than comments and directives, as in YAML itself.
    """
    chunks: list[tuple[int, list[str]]] = [(0, [])]
    for number, line in enumerate(content.splitlines(keepends=True)):
        if _SEPARATOR.match(line):
            chunks.append((number, ["   " + line[3:]]))
        else:
            chunks[-1][1].append(line)
    documents = [(first, "".join(lines)) for first, lines in chunks]
    if len(documents) > 1 and not _CONTENT.search(documents[0][1]):
        documents.pop(0)
    return documents


def _parse(chunk: str) -> tuple[yaml.Node | None, Any]:
    loader = _LOADER(chunk)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _document(
    source: Source, chunk: str, data: Any, node: yaml.Node | None, first: int
) -> Document:
    document = Document(source, chunk, data, first=first)
    if data is None:
        return document
    problem = refusal(data)
    if problem is not None:
        document.problem = Problem(source.file, problem, source.document, source.line)
        return document

    def locator(base: str) -> Locate | None:
        if node is None:
            return None
        return lambda pointer: line_of(node, base + pointer, first)

    kind = data["kind"]
    items = data.get("items")
    if kind.endswith("List") and isinstance(items, list):
        item_kind = kind.removesuffix("List")
        for index, item in enumerate(items):
            base = f"/items/{index}"
            line = line_of(node, base, first) if node is not None else None
            where = Source(source.file, source.document, line, index)
            if not isinstance(item, dict):
                message = f"items[{index}] is {_noun(item)}, not a Kubernetes object"
                document.problem = Problem(source.file, message, source.document, line)
                continue
            if item_kind != "" and "kind" not in item:
                item["kind"] = item_kind  # kubectl's typed lists may leave it out
            if "apiVersion" not in item and item_kind:
                item["apiVersion"] = data["apiVersion"]
            refused = refusal(item)
            if refused is not None:
                message = f"items[{index}] {refused}"
                document.problem = Problem(source.file, message, source.document, line)
                continue
            document.manifests.append(Manifest(item, where, base, locator(base)))
        return document
    document.manifests.append(Manifest(data, source, "", locator("")))
    return document


def refusal(data: Any) -> str | None:
    """Why `data` is not a Kubernetes object, if it is not (`initgate test` asks it of objects
    written inline)."""
    if not isinstance(data, dict):
        return f"is {_noun(data)}, not a Kubernetes object"
    if not text(data.get("kind")):
        return "has no kind"
    if not text(data.get("apiVersion")):
        return "has no apiVersion"
    if not isinstance(data.get("metadata", {}), dict):
        return "has a metadata that is not a mapping"
    return None


def _noun(value: Any) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(value), f"a {type(value).__name__}")


def line_of(node: yaml.Node, pointer: str, first: int = 0) -> int | None:
    """The 1-based line of the node at `pointer` (RFC 6901), or of its deepest existing parent."""
    line = node.start_mark.line
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
        if child is None:
            break
        node, line = child, child.start_mark.line
    return first + line + 1


def namespace_of(obj: dict[str, Any], default: str) -> str:
    """The object's namespace, or `default` (what `kubectl apply -n` would use)."""
    return text(mapping(obj.get("metadata")).get("namespace")) or default
