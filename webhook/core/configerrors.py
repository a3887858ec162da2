"""Configuration errors in the words of the file's author: the file and line, the key as a path
(`policies.init-unbounded.maximum.memory`), and what was expected in Kubernetes terms ("a list of
roles (init, sidecar), e.g. [init, sidecar]", "a quantity such as 512Mi"), read from the model's
JSON schema: the same schema the Helm chart validates `config:` with, so both speak alike.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from pydantic_core import ErrorDetails

from policies import quantity

Schema = dict[str, Any]
LineOf = Callable[[tuple[int | str, ...]], "int | None"]


def explain(
    errors: Sequence[ErrorDetails], *, schema: Schema, line_of: LineOf, source: str
) -> list[str]:
    """One line per error, `source:line: path: what was expected`, sorted by line."""
    found: list[tuple[int, str]] = []
    for error in errors:
        loc = tuple(error["loc"])
        line = line_of(loc)
        where = f"{source}:{line}" if line else source
        found.append((line or 0, f"{where}: {_message(error, loc, schema)}"))
    return [message for _, message in sorted(found, key=lambda pair: pair[0])]


def path(loc: Sequence[int | str]) -> str:
    """A key path as kubectl writes fields: `exemptions.images[0].image`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _message(error: ErrorDetails, loc: tuple[int | str, ...], schema: Schema) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key, parent = str(loc[-1]), loc[:-1]
        container = _object_option(_resolve(_at(schema, parent, schema) or {}, schema), schema)
        known = list(container.get("properties", {}))
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        prefix = f"{path(parent)}: " if parent else ""
        return f"{prefix}unknown key '{key}' ({hint})"
    node = _at(schema, loc, schema)
    expected = describe(node, schema) if node is not None else ""
    prefix = f"{path(loc)}: " if loc else ""
    hint = _did_you_mean(error.get("input"), node, schema) if node is not None else ""
    if kind in ("value_error", "assertion_error"):
        return f"{prefix}{error.get('ctx', {}).get('error', error['msg'])}{hint}"
    if kind == "missing":
        return f"{prefix}required" + (f": {expected}" if expected else "")
    if kind == "string_too_long":
        limit, length = error.get("ctx", {}).get("max_length"), len(error["input"])
        return f"{prefix}at most {limit:,} characters, not {length:,}"
    if not expected:
        return f"{prefix}{error['msg']}"
    return f"{prefix}expected {expected}, not {_shown(error['input'])}{hint}"


def _did_you_mean(given: Any, node: Schema, root: Schema) -> str:
    """` (did you mean 'restricted'?)` for a misspelt value of a closed set: a mode, a level, a
    role, a check (in a list), a preset (a key of a closed mapping); "" when none is close."""
    node = _resolve(node, root)
    if isinstance(given, str) and "enum" in node:
        words, known = [given], node["enum"]
    elif isinstance(given, list) and "enum" in _resolve(node.get("items", {}), root):
        words, known = given, _resolve(node["items"], root)["enum"]
    elif isinstance(given, dict) and node.get("additionalProperties") is False:
        words, known = list(given), list(node.get("properties", {}))
    else:
        return ""
    known = [str(value) for value in known]
    close = [
        match[0]
        for word in words
        if isinstance(word, str) and word not in known
        for match in [difflib.get_close_matches(word, known, n=1, cutoff=0.7)]
        if match
    ]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _shown(value: Any) -> str:
    """The value as the file wrote it, in YAML's flow style, at most 40 characters."""
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, bool) else _flow(value)
    if isinstance(value, str):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _flow(value: Any) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=1 << 16)
    return text.strip().removesuffix("...").strip()


def _resolve(node: Schema, root: Schema) -> Schema:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    options = [_resolve(o, root) for o in node.get("anyOf", [])]
    present = [o for o in options if o.get("type") != "null"]
    return present[0] if len(present) == 1 else node


def _at(node: Schema, loc: Sequence[int | str], root: Schema) -> Schema | None:
    """The schema of the value at `loc`, None when the schema does not say."""
    for part in loc:
        node = _resolve(node, root)
        if isinstance(part, str) and "properties" not in node:
            node = _object_option(node, root)
        if isinstance(part, int) and "items" in node:
            node = node["items"]
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return _resolve(node, root)


def _object_option(node: Schema, root: Schema) -> Schema:
    """Of a value that is a string or an object (an exemption entry), the object's schema: a key
    is read in it."""
    options = [_resolve(o, root) for o in node.get("anyOf") or node.get("oneOf") or []]
    return next((o for o in options if "properties" in o), node)


def describe(node: Schema, root: Schema) -> str:
    """What a value of this schema is, in a few words with an example."""
    node = _resolve(node, root)
    if "enum" in node:
        return "one of " + ", ".join(str(value) for value in node["enum"])
    choices = node.get("oneOf") or node.get("anyOf")
    if choices:  # an exemption: a glob, or a mapping with its glob and its end
        return " or ".join(describe(choice, root) for choice in choices)
    if node.get("type") in ("array", "object"):
        return _collection(node, root)
    return _scalar(node)


def _collection(node: Schema, root: Schema) -> str:
    example = (node.get("examples") or [node.get("default")])[0]
    shown = f", e.g. {_flow(example)}" if example else ""
    if node.get("type") == "array":
        items = _resolve(node.get("items", {}), root)
        allowed = f" ({', '.join(map(str, items['enum']))})" if "enum" in items else ""
        return f"a list of {_plural(items)}{allowed}{shown}"
    values = node.get("additionalProperties")
    if isinstance(values, dict):
        return f"a mapping of names to {_plural(_resolve(values, root))}{shown}"
    return "a mapping with the keys " + ", ".join(node.get("properties", {}))


def _scalar(node: Schema) -> str:
    kind = node.get("type")
    if kind == "string" and node.get("pattern") == quantity.PATTERN:
        return f"a quantity such as {(node.get('examples') or ['512Mi'])[0]}"
    if kind in ("integer", "number"):
        noun = "a whole number" if kind == "integer" else "a number"
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            return f"{noun} from {low} to {high}"
        return noun + (f" of at least {low}" if low is not None else "")
    if kind == "string" and node.get("pattern"):
        example = (node.get("examples") or [""])[0]
        such = f" such as {example}" if example else ""
        return f"a string{such} matching {node['pattern']}"
    if kind == "string":
        return "a non-empty string" if node.get("minLength") else "a string"
    return "true or false" if kind == "boolean" else "a value"


def _plural(node: Schema) -> str:
    if node.get("type") == "string" and node.get("pattern") == quantity.PATTERN:
        return "quantities"
    if node.get("title"):
        return str(node["title"]).lower() + "s"
    if node.get("type") == "object":
        return "mappings"
    if node.get("type") == "boolean":
        return "true or false"
    return "strings" if node.get("type") == "string" else "values"
