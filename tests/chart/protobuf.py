"""A Secret read from Kubernetes' protobuf encoding, the one client-go writes Secrets in (helm
keeps its releases in Secrets): the envelope (`k8s\\0` and a runtime.Unknown), then the fields
of v1.Secret that helm sets. Enough for tests/chart/fakecluster.py, which answers in JSON."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def _fields(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(field number, bytes) of each length-delimited field; varints are skipped."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        if key & 7 == 0:
            _, at = _varint(data, at)
        elif key & 7 == 2:
            length, at = _varint(data, at)
            yield key >> 3, data[at : at + length]
            at += length
        else:
            raise ValueError(f"wire type {key & 7} is not in a Secret")


def _entry(data: bytes) -> tuple[str, bytes]:
    found = dict(_fields(data))
    return found.get(1, b"").decode(), found.get(2, b"")


def secret(body: bytes) -> dict[str, Any]:
    """The Secret of a protobuf request body, as its JSON form."""
    if not body.startswith(MAGIC):
        raise ValueError("not Kubernetes protobuf")
    raw = dict(_fields(body[len(MAGIC) :]))[2]
    meta: dict[str, Any] = {}
    found: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": {}}
    for number, value in _fields(raw):
        if number == 1:
            for field, part in _fields(value):
                if field in (1, 3):
                    meta["name" if field == 1 else "namespace"] = part.decode()
                elif field == 11:
                    key, label = _entry(part)
                    meta.setdefault("labels", {})[key] = label.decode()
        elif number == 2:
            key, data = _entry(value)
            found["data"][key] = base64.b64encode(data).decode()
        elif number == 3:
            found["type"] = value.decode()
    return found
