"""`protocol.plain_request` reads a well-formed review without pydantic: it must agree with the model
on every review, take every one a real API server sends, and refuse (return None for) every one the
model would refuse, so that the model can name the wrong field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from policies.base import Mode
from tests.support import reviews
from webhook.core import review
from webhook.core.handler import Handler
from webhook.core.objects import Request
from webhook.core.plan import Plan
from webhook.server import endpoint as protocol


def by_model(data: dict[str, Any]) -> Request | None:
    try:
        return review.engine_request(review.AdmissionReview.model_validate(data).request)
    except ValidationError:
        return None


@pytest.mark.parametrize("webhook", ["mutate", "validate"])
@pytest.mark.parametrize("case", reviews.CASES)
def test_every_captured_review_takes_the_plain_path(case: str, webhook: str) -> None:
    data = reviews.captured(case, webhook)
    plain = protocol.plain_request(data)
    assert plain is not None
    assert plain == by_model(data)


FIELDS = [
    ("uid",),
    ("kind",),
    ("kind", "group"),
    ("kind", "version"),
    ("kind", "kind"),
    ("resource",),
    ("resource", "group"),
    ("resource", "version"),
    ("resource", "resource"),
    ("subResource",),
    ("name",),
    ("namespace",),
    ("operation",),
    ("userInfo",),
    ("userInfo", "username"),
    ("userInfo", "uid"),
    ("userInfo", "groups"),
    ("object",),
    ("oldObject",),
    ("dryRun",),
]
MISSING = object()
VALUES = st.one_of(
    st.just(MISSING),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(["", "CREATE", "DELETE", "create", "v1", "x"]),
    st.lists(st.sampled_from(["a", "system:masters"]), max_size=2),
    st.lists(st.integers(), min_size=1, max_size=2),
    st.tuples(st.just("a")),
    st.dictionaries(st.sampled_from(["metadata", "spec"]), st.just({}), max_size=2),
)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data["request"]
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            return
        node = node[part]
    if value is MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


@settings(max_examples=400, deadline=None)
@given(
    case=st.sampled_from(reviews.CASES),
    webhook=st.sampled_from(["mutate", "validate"]),
    changes=st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), min_size=1, max_size=3),
)
def test_the_plain_path_never_takes_what_the_model_refuses(
    case: str, webhook: str, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    data = copy.deepcopy(reviews.captured(case, webhook))
    for path, value in changes:
        _set(data, path, value)
    plain = protocol.plain_request(data)
    if plain is not None:
        assert plain == by_model(data)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("uid",), ""),
        (("kind", "version"), MISSING),
        (("resource",), MISSING),
        (("operation",), "PATCH"),
        (("userInfo", "groups"), ["a", 1]),
        (("object",), []),
        (("dryRun",), "true"),
        (("name",), None),
    ],
)
def test_anything_unusual_is_left_to_the_model(path: tuple[str, ...], value: Any) -> None:
    data = reviews.captured("pod-create-two-init", "validate")
    _set(data, path, value)
    assert protocol.plain_request(data) is None


def test_a_review_without_user_info_or_object_is_plain() -> None:
    data = reviews.captured("pod-create-two-init", "validate")
    for field in ("userInfo", "object", "oldObject", "dryRun", "subResource"):
        data["request"].pop(field, None)
    plain = protocol.plain_request(data)
    assert plain is not None
    assert plain == by_model(data)
    assert plain.object == {}
    assert plain.username == ""


def test_a_denial_says_forbidden_as_pod_security_admission_does(default_plan: Plan) -> None:
    """kubectl prints `Error from server (Forbidden): ...` only when the status has a reason."""
    handler = Handler(webhook="validate", cap=Mode.ENFORCE, plan=lambda: default_plan)
    answer, _ = handler.handle(
        review.AdmissionReview.model_validate(
            reviews.captured("pod-create-two-init", "validate")
        ).request
    )
    assert answer["allowed"] is False
    assert answer["status"]["code"] == 403
    assert answer["status"]["reason"] == "Forbidden"
    failed = review.denied("initgate could not evaluate this object", code=500)
    assert failed["status"]["reason"] == "InternalError"
