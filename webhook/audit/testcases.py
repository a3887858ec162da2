"""`initgate test` files resolved into cases to judge: the configuration they name, compiled;
their manifests, read; the objects and the policies and rules their expectations name, found.

A file is read whole before anything runs, and each problem is a line `FILE:LINE: what`: a file
with one is not run (`initgate test` exits 2), since an expectation that cannot be checked must
not read as met.
"""

from __future__ import annotations

import difflib
import functools
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from policies.base import Mode, mapping, text
from webhook.audit.fieldpaths import Segment, parse_path
from webhook.audit.manifests import Manifest, Source, load, refusal
from webhook.audit.testfile import BrokenError, Expectation, LineOf, Result, TestFile, parse
from webhook.core import review
from webhook.core.chain import as_review
from webhook.core.config import ConfigError, load_config
from webhook.core.configerrors import path
from webhook.core.objects import KINDS
from webhook.core.plan import Plan, compile_plan


@dataclass(frozen=True, slots=True)
class Patched:
    """One field a mutation must set: its path as written and as segments, the value, its line."""

    path: str
    segments: tuple[Segment, ...]
    value: Any
    line: int | None


@dataclass(slots=True)
class Case:
    """One expectation, ready to judge."""

    title: str
    incoming: review.AdmissionReview
    mode: Mode
    results: list[tuple[str, Result, int | None]]
    patched: list[Patched]


@dataclass(slots=True)
class Suite:
    """A test file's configuration, compiled, and its expectations."""

    plan: Plan
    cases: list[Case] = field(default_factory=list)


def read(path: Path) -> Suite:
    """The suite of one test file; raises `BrokenError` with every problem found."""
    parsed, line = parse(path)
    return _Reader(path, parsed, line).suite()


@functools.lru_cache(maxsize=32)
def _plan(config: Path | None) -> Plan:
    """A configuration compiled once, however many test files name it."""
    return compile_plan(load_config(config))


@dataclass(slots=True)
class _Reader:
    path: Path
    parsed: TestFile
    line: LineOf
    problems: list[str] = field(default_factory=list)

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(
            f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}"
        )

    def suite(self) -> Suite:
        for key in ("manifests", "expect"):
            if not getattr(self.parsed, key):
                self.problem(
                    self.line(key), f"{key}: empty; a test needs both manifests and expect"
                )
        plan = self.plan()
        objects = self.objects()
        if plan is None or self.problems:
            raise BrokenError(self.problems)
        suite = Suite(plan)
        known = [rule.policy.id for rule in (*plan.validate, *plan.mutate)]
        for index, expectation in enumerate(self.parsed.expect):
            case = self.case(index, expectation, objects, known)
            if case is not None:
                suite.cases.append(case)
        if self.problems:
            raise BrokenError(self.problems)
        return suite

    def plan(self) -> Plan | None:
        config = self.parsed.config
        try:
            return _plan(None if config is None else (self.path.parent / config).resolve())
        except ConfigError as error:
            for refused in str(error).splitlines():
                self.problem(self.line("config"), f"configuration refused: {refused}")
            return None

    def objects(self) -> list[Manifest]:
        found: list[Manifest] = []
        for index, entry in enumerate(self.parsed.manifests):
            where = self.line("manifests", index)
            if isinstance(entry, str):
                # Relative to the test file; `-` is a file of that name, not standard input.
                loaded = load([str(self.path.parent / entry)], stdin=io.StringIO())
                for problem in loaded.problems:
                    self.problem(where, f"manifests[{index}]: {problem.display}")
                found.extend(loaded.manifests)
                continue
            refused = refusal(entry)
            if refused is not None:
                self.problem(where, f"manifests[{index}] {refused}")
            else:
                found.append(Manifest(entry, Source(str(self.path), 1, where)))
        return found

    def case(
        self, index: int, expectation: Expectation, objects: list[Manifest], known: list[str]
    ) -> Case | None:
        where = self.line("expect", index, "object")
        manifest = self.lookup(expectation.object, objects, where)
        if manifest is None:
            return None
        if not expectation.results and not expectation.patched:
            self.problem(self.line("expect", index), f"expect[{index}]: expects nothing")
        is_review = manifest.obj.get("kind") == review.KIND
        given = [k for k in ("namespace", "user", "groups") if k in expectation.model_fields_set]
        if is_review and given:
            self.problem(
                where, f"expect[{index}]: an AdmissionReview says its own {', '.join(given)}"
            )
        results = []
        for policy, result in expectation.results.items():
            line = self.line("expect", index, "results", policy)
            if policy not in known:
                self.problem(line, f"expect[{index}].results: {_unknown(policy, known)}")
            results.append((policy, result, line))
        try:
            incoming = self.incoming(manifest, expectation)
        except ValidationError as error:
            problems = "; ".join(
                f"{path(item['loc'])}: {item['msg']}" for item in error.errors(include_url=False)
            )
            self.problem(where, f"{expectation.object} is not a valid AdmissionReview: {problems}")
            return None
        kind = incoming.request.kind.kind
        if expectation.patched and kind in KINDS and kind != "Pod":
            self.problem(
                self.line("expect", index, "patched"),
                f"expect[{index}].patched: the mutating webhook does not patch a {kind}, only "
                "the pods its controller creates: expect the fields of a Pod",
            )
        patched = []
        for written, value in expectation.patched.items():
            line = self.line("expect", index, "patched", written)
            segments = parse_path(written)
            if segments is None:
                self.problem(line, f"expect[{index}].patched: {written!r} is not a YAML path")
            else:
                patched.append(Patched(written, segments, value, line))
        mode = Mode(expectation.mode)
        return Case(title_of(incoming), incoming, mode, results, patched)

    def lookup(self, name: str, objects: list[Manifest], where: int | None) -> Manifest | None:
        kind, _, rest = name.partition("/")
        namespace, _, named = rest.rpartition("/")
        matching = []
        for manifest in objects:
            its_kind, its_namespace, its_name = _identity(manifest.obj)
            if (its_kind, its_name) == (kind, named) and namespace in ("", its_namespace):
                matching.append(manifest)
        if len(matching) == 1:
            return matching[0]
        if not matching:
            self.problem(where, f"no object {name} in the manifests")
        else:
            self.problem(where, f"{name} is {len(matching)} objects: name it Kind/namespace/name")
        return None

    def incoming(self, manifest: Manifest, expectation: Expectation) -> review.AdmissionReview:
        obj = manifest.obj
        if obj.get("kind") == review.KIND:
            return as_review(obj)
        wrapped = as_review(obj, namespace=expectation.namespace or "default")
        user = review.UserInfo(username=expectation.user, groups=expectation.groups)
        request = wrapped.request.model_copy(update={"user_info": user})
        return wrapped.model_copy(update={"request": request})


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name) of a manifest (`default` when it has no namespace), or of the
    object an AdmissionReview carries."""
    if obj.get("kind") == review.KIND:
        request = mapping(obj.get("request"))
        inner = mapping(request.get("object")) or mapping(request.get("oldObject"))
        metadata = mapping(inner.get("metadata"))
        kind = text(mapping(request.get("kind")).get("kind"))
        name = text(request.get("name")) or text(metadata.get("name"))
        return kind, text(request.get("namespace")), name
    metadata = mapping(obj.get("metadata"))
    name = text(metadata.get("name")) or text(metadata.get("generateName"))
    return text(obj.get("kind")), text(metadata.get("namespace")) or "default", name


def title_of(incoming: review.AdmissionReview) -> str:
    """`Pod shop/web`: the object as the lines about it name it."""
    request = incoming.request
    obj = request.object or request.old_object or {}
    name = request.name or text(mapping(obj.get("metadata")).get("name"))
    name = name or text(mapping(obj.get("metadata")).get("generateName"))
    where = f"{request.namespace}/" if request.namespace else ""
    return f"{request.kind.kind} {where}{name}"


def _unknown(policy: str, known: list[str]) -> str:
    close = difflib.get_close_matches(policy, known, n=1, cutoff=0.7)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
    return f"'{policy}' is neither a policy nor a rule of the configuration ({hint})"
