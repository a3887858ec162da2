"""What every policy shares: container roles, the pod view, findings, patch operations (its
settings and definition are in `policies.policy`).

A policy is a pure function of a `PodView`, a `Context` and its own settings. It never sees HTTP,
the cluster, the clock or the logger; the engine (`webhook.core.engine`) does all of that around
it.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from dataclasses import field as attribute
from typing import Any, Literal, TypedDict


class Role(enum.StrEnum):
    """What a container is for, which decides what a policy expects of it."""

    INIT = "init"
    """An entry of `spec.initContainers` that runs to completion before the app starts."""
    SIDECAR = "sidecar"
    """An entry of `spec.initContainers` with `restartPolicy: Always`: runs beside the app."""
    APP = "app"
    """An entry of `spec.containers`."""
    EPHEMERAL = "ephemeral"
    """An entry of `spec.ephemeralContainers` (`kubectl debug`)."""


class Mode(enum.StrEnum):
    """How much a policy may do, from nothing to everything. The order is meaningful."""

    OFF = "off"
    AUDIT = "audit"
    WARN = "warn"
    ENFORCE = "enforce"

    @property
    def rank(self) -> int:
        return _MODE_RANK[self]

    def cap(self, ceiling: Mode) -> Mode:
        """The lower of this mode and `ceiling`."""
        return self if self.rank <= ceiling.rank else ceiling


_MODE_RANK = {Mode.OFF: 0, Mode.AUDIT: 1, Mode.WARN: 2, Mode.ENFORCE: 3}


class PatchOp(TypedDict):
    """One RFC 6902 operation. Only `add` is emitted: it creates a member or sets an absent one."""

    op: Literal["add"]
    path: str
    value: Any


def escape(segment: str) -> str:
    """Escape one JSON pointer segment (RFC 6901): `~` first, then `/`."""
    return segment.replace("~", "~0").replace("/", "~1")


def add(path: str, value: Any) -> PatchOp:
    """An `add` operation at `path` (already escaped)."""
    return {"op": "add", "path": path, "value": value}


EMPTY: dict[str, Any] = {}


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one: policies read what they can, and never
    raise on a malformed object."""
    return value if isinstance(value, dict) else EMPTY


def items(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    """`value` if it is a string, else an empty one."""
    return value if isinstance(value, str) else ""


# Per-request values (containers, volumes, pod views, findings) are plain slotted dataclasses, not
# frozen ones: a frozen dataclass builds itself through object.__setattr__, five times slower, and
# every admission request builds dozens of these. Nothing mutates them after construction.
@dataclass(slots=True)
class Container:
    """One container of the pod, with its role and where it stands in the object."""

    role: Role
    list_name: Literal["initContainers", "containers", "ephemeralContainers"]
    index: int
    path: str
    """JSON pointer of the container in the object as received, e.g. `/spec/initContainers/0`."""
    raw: dict[str, Any]
    position: int
    """Where the container stands among all of the pod's containers, in pod order."""
    volume_mounts: tuple[tuple[int, dict[str, Any]], ...] = attribute(init=False, repr=False)
    """The well-formed volume mounts with their indexes (every policy walks them)."""
    mount_names: frozenset[str] = attribute(init=False, repr=False)

    def __post_init__(self) -> None:
        mounts = self.raw.get("volumeMounts")
        if not mounts or not isinstance(mounts, list):
            self.volume_mounts, self.mount_names = (), frozenset()
            return
        kept = [(index, mount) for index, mount in enumerate(mounts) if isinstance(mount, dict)]
        self.volume_mounts = tuple(kept)
        self.mount_names = frozenset([text(mount.get("name")) for _, mount in kept])

    @property
    def name(self) -> str:
        return text(self.raw.get("name")) or f"#{self.index}"

    @property
    def label(self) -> str:
        """How messages name the container: its role and name, `init "setup"` (names are unique)."""
        return f'{self.role} "{self.name}"'  # a string enum formats as its value

    @property
    def field(self) -> str:
        """Where the container stands in the pod spec: `initContainers[1]`."""
        return f"{self.list_name}[{self.index}]"

    @property
    def image(self) -> str:
        return text(self.raw.get("image"))


_SHELLS = frozenset(("sh", "bash", "ash", "dash", "zsh", "ksh"))


def command_line(container: Container) -> str | None:
    """The shell script an init container runs (`sh -c SCRIPT`), else its command and arguments
    as a shell command line; None when it runs the image's own entrypoint, which we cannot see."""
    words = [*items(container.raw.get("command")), *items(container.raw.get("args"))]
    try:
        "".join(words)  # every word a string, checked in one call: this runs on every request
    except TypeError:
        return None
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    if program == "busybox" and len(words) > 1:
        words = words[1:]
        program = words[0].rsplit("/", 1)[-1]
    if program in _SHELLS:
        for position, word in enumerate(words[1:-1], start=1):
            if word.startswith("-") and "c" in word[1:] and not word.startswith("--"):
                return str(words[position + 1])
    # Quoted as a shell would need them: a word with spaces stays one word, and the script of
    # `timeout 60 sh -c SCRIPT` reads as the nested shell's code (see `policies.shell`).
    return shlex.join(words)


def writes(mount: dict[str, Any]) -> bool:
    """Whether a volume mount is writable (the API server omits `readOnly: false`)."""
    return mount.get("readOnly") is not True


@dataclass(slots=True)
class Volume:
    """One entry of `spec.volumes`."""

    index: int
    name: str
    raw: dict[str, Any]


@dataclass(slots=True, kw_only=True)
class PodView:
    """A pod spec as received, with its containers sorted by role.

    `judged` are the containers this request is about: all of them on CREATE, only the new
    ephemeral containers on an `ephemeralcontainers` UPDATE. `whole` says whether pod-level fields
    (volumes) are judged too.
    """

    spec: dict[str, Any]
    path: str
    """JSON pointer of the pod spec: `/spec` for a Pod, `/spec/template/spec` for a Deployment."""
    annotations: dict[str, Any]
    containers: tuple[Container, ...]
    judged: tuple[Container, ...]
    whole: bool
    volumes: dict[str, Volume]
    metadata: dict[str, Any] = attribute(default_factory=dict)
    """The pod's metadata, or the pod template's."""
    memo: dict[Any, Any] = attribute(default_factory=dict, repr=False, compare=False)
    """What one evaluation works out once for every policy that asks (the flow of data between
    containers, the values CEL rules read): the view lives for one request."""

    def select(self, roles: frozenset[Role]) -> list[Container]:
        """The judged containers whose role is in `roles`."""
        return [c for c in self.judged if c.role in roles]

    @property
    def init_containers(self) -> tuple[Container, ...]:
        return tuple(c for c in self.containers if c.list_name == "initContainers")


_LISTS: tuple[tuple[Literal["initContainers", "containers", "ephemeralContainers"], Role], ...] = (
    ("initContainers", Role.INIT),
    ("containers", Role.APP),
    ("ephemeralContainers", Role.EPHEMERAL),
)


def containers_of(spec: dict[str, Any], spec_path: str) -> tuple[Container, ...]:
    """Every container of a pod spec, in pod order, with its role."""
    found: list[Container] = []
    for list_name, role in _LISTS:
        listed = spec.get(list_name)
        if not listed or not isinstance(listed, list):
            continue
        prefix = f"{spec_path}/{list_name}/"
        for index, raw in enumerate(listed):
            if not isinstance(raw, dict):
                continue
            actual = role
            if role is Role.INIT and raw.get("restartPolicy") == "Always":
                actual = Role.SIDECAR
            found.append(Container(actual, list_name, index, f"{prefix}{index}", raw, len(found)))
    return tuple(found)


def volumes_of(spec: dict[str, Any]) -> dict[str, Volume]:
    """The pod's volumes by name."""
    volumes: dict[str, Volume] = {}
    for index, raw in enumerate(items(spec.get("volumes"))):
        if isinstance(raw, dict) and isinstance(name := raw.get("name"), str):
            volumes.setdefault(name, Volume(index, name, raw))
    return volumes


def pod_view(
    spec: dict[str, Any],
    *,
    path: str,
    annotations: dict[str, Any],
    judge: Callable[[Container], bool] | None = None,
    metadata: dict[str, Any] | None = None,
) -> PodView:
    """Build the view of one pod spec. `judge` picks the containers under review (default: all)."""
    containers = containers_of(spec, path)
    judged = containers if judge is None else tuple(c for c in containers if judge(c))
    return PodView(
        spec=spec,
        path=path,
        annotations=annotations,
        containers=containers,
        judged=judged,
        whole=judge is None,
        volumes=volumes_of(spec),
        metadata=metadata if metadata is not None else {"annotations": annotations},
    )


def inherited_by(containers: Sequence[Container], *, shown: int = 2) -> str:
    """How a finding about the pod ends: ` (inherited by init "a", sidecar "b" and 3 more)`,
    naming the first `shown` containers (none: ` (inherited by 3 containers)`)."""
    labels = [c.label for c in containers[:shown]]
    rest = len(containers) - len(labels)
    if not labels:
        return f" (inherited by {rest} container{'' if rest == 1 else 's'})"
    if rest:
        return f" (inherited by {', '.join(labels)} and {rest} more)"
    return f" (inherited by {' and '.join(labels)})"


@dataclass(slots=True)
class Context:
    """Who asks for what: the part of the admission request a policy may look at."""

    operation: str
    namespace: str
    username: str
    groups: tuple[str, ...] = ()
    dry_run: bool = False
    kind: tuple[str, str, str] = ("", "v1", "Pod")
    """The group, version and kind of the object asked for (a workload, for a pod template)."""


@dataclass(slots=True)
class Finding:
    """One thing a policy has to say about one container or volume.

    `key` names the check (`privileged`, `capability:NET_ADMIN`, `limit:memory`...): scoped
    exemptions match it. `message` is one short line without the location, written so that it reads
    after the container label. Mutating findings carry the `patch` that fixes them; their message
    is a verb phrase (`set resources.requests.cpu=100m`) so that warn mode can say "would ...".
    A finding about neither a container nor a volume is about the pod (`hostNetwork: true`).
    """

    key: str
    message: str
    role: Role | None
    container: Container | None = None
    _: KW_ONLY
    volume: Volume | None = None
    patch: tuple[PatchOp, ...] = ()
    hint: str = ""
    """Further advice (how to opt out...): a warning gives it a line of its own when one line
    would grow too long."""
    verbatim: str = ""
    """The end of `hint` that the reader types as it is (an annotation and its value): a warning
    shortens the rest of the hint, never this."""
    control: str = ""
    """The control of a standard the finding belongs to (a Pod Security control such as
    `capabilities`, for `capability:NET_ADMIN`): an exemption may name it instead of the key."""
    containers: tuple[Container, ...] = ()
    """For a finding about the pod, the judged containers it concerns: an image exemption lifts it
    only when it covers every one of them."""

    @property
    def location(self) -> str:
        if self.container is not None:
            return self.container.label
        if self.volume is not None:
            return f'volume "{self.volume.name}"'
        return "pod"
