"""The active configuration, and its reload when the file changes.

The file is re-read every few seconds and compared by content digest, which survives what a
ConfigMap volume does on update (an atomic swap of a symlink, with mtimes that say little). A new
configuration is compiled completely before one reference is swapped: a request reads the plan once,
so it never sees half of an old configuration and half of a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from webhook.core.config import Config, ConfigError, load_config, parse_config
from webhook.core.plan import Plan, compile_plan
from webhook.server.logs import event

LOG = logging.getLogger("initgate.config")
SETTLE = 0.25
"""Seconds new file content must stay unchanged before it is taken (see `ConfigStore.watch`)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A configuration with its compiled plan and where it came from."""

    plan: Plan
    source: str
    digest: str

    @property
    def config(self) -> Config:
        return self.plan.config


ReloadObserver = Callable[[str, Plan | None], None]
"""Called after each load attempt with "success" and the plan now active, or "failure" and None
(metrics hook here)."""


class ConfigStore:
    """Holds the active configuration. Start-up with an invalid file raises `ConfigError`."""

    def __init__(self, path: Path | None = None, *, observer: ReloadObserver | None = None) -> None:
        self.path = path
        self._observer = observer
        self._refused = ""
        if path is None:
            self._current = Loaded(compile_plan(load_config(None)), "built-in default", "")
        else:
            data = self._read()
            config = parse_config(data.decode("utf-8", "replace"), source=str(path))
            self._current = Loaded(compile_plan(config), str(path), _digest(data))
        self._notify("success", self._current.plan)

    @property
    def current(self) -> Loaded:
        return self._current

    @property
    def plan(self) -> Plan:
        return self._current.plan

    def reload(self) -> bool | None:
        """Load the file again if its content changed: True when a new configuration is active,
        False when the new content was refused (the last good one stays), None when unchanged."""
        if self.path is None:
            return None
        data = self._read_or_refuse()
        return False if data is None else self._take(data)

    async def watch(self, interval: float, *, settle: float = SETTLE) -> None:
        """Reload whenever the file changes, until cancelled. New content is taken once it has
        stayed the same for `settle` seconds: a file rewritten in place (an editor, `cp` over
        it) is never read half-written, even when the half it has is valid YAML. (A ConfigMap
        volume swaps a symlink: its new content is whole at once, and waits `settle` too.)"""
        while True:
            await asyncio.sleep(interval)
            data = self._read_or_refuse()
            if data is None:
                continue
            news = _digest(data) not in (self._current.digest, self._refused)
            if news and not await self._settled(data, settle):
                continue  # still changing: the next poll looks again
            self._take(data)

    async def _settled(self, data: bytes, settle: float) -> bool:
        """Whether the file still holds `data` after `settle` seconds."""
        await asyncio.sleep(settle)
        try:
            return self._read() == data
        except ConfigError:
            return False

    def _read_or_refuse(self) -> bytes | None:
        """The file's content, or None when it cannot be read (refused: logged and counted once
        per distinct problem)."""
        try:
            return self._read()
        except ConfigError as error:
            self._refuse(str(error), digest=f"unreadable:{error}")
            return None

    def _take(self, data: bytes) -> bool | None:
        digest = _digest(data)
        if digest == self._current.digest:
            # Back to the active content (a bad file was reverted): the same bad file written
            # again later is news again, to be logged and counted.
            if self._refused:
                self._refused = ""
                event(
                    LOG,
                    "configuration file back to the active configuration",
                    source=str(self.path),
                )
            return None
        if digest == self._refused:
            return None
        try:
            config = parse_config(data.decode("utf-8", "replace"), source=str(self.path))
            plan = compile_plan(config)
        except ConfigError as error:
            return self._refuse(str(error), digest=digest)
        self._current = Loaded(plan, str(self.path), digest)
        self._refused = ""
        event(LOG, "configuration reloaded", source=str(self.path), digest=digest[:12])
        self._notify("success", plan)
        return True

    def _read(self) -> bytes:
        assert self.path is not None  # noqa: S101 - only called when a file is configured
        try:
            return self.path.read_bytes()
        except OSError as error:
            raise ConfigError(f"{self.path}: cannot read: {error.strerror}") from error

    def _refuse(self, problem: str, *, digest: str) -> bool:
        # Logged and counted once per distinct bad content, not at every poll.
        if digest != self._refused:
            self._refused = digest
            event(
                LOG,
                "configuration refused; the last good configuration stays active",
                logging.ERROR,
                source=str(self.path),
                problem=problem,
                active=self._current.digest[:12] or self._current.source,
            )
            self._notify("failure", None)
        return False

    def _notify(self, result: str, plan: Plan | None) -> None:
        if self._observer is not None:
            self._observer(result, plan)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
