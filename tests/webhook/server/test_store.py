"""Reloading the configuration: a new file applies whole, a bad one never replaces a good one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policies.base import Mode
from webhook.core.config import ConfigError
from webhook.server.app import build_state
from webhook.server.settings import ServerSettings
from webhook.server.store import ConfigStore, _digest


def mode(store: ConfigStore) -> Mode:
    """The active mode (read through a call: each reload may change it)."""
    return store.plan.config.mode


def test_built_in_default_without_a_file() -> None:
    results: list[str] = []
    store = ConfigStore(observer=lambda result, _: results.append(result))
    assert store.current.source == "built-in default"
    assert store.reload() is None
    assert results == ["success"]


def test_start_up_with_an_invalid_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mode: sometimes\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:1: mode"):
        ConfigStore(path)


def test_start_up_without_the_file_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigStore(tmp_path / "missing.yaml")


def test_reload_applies_changes_and_keeps_the_last_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mode: enforce\n")
    results: list[str] = []
    store = ConfigStore(path, observer=lambda result, _: results.append(result))
    first = store.plan
    assert store.reload() is None  # unchanged content
    assert store.plan is first

    path.write_text("mode: warn\n")
    assert store.reload() is True
    assert mode(store) is Mode.WARN

    path.write_text("mode: [broken\n")
    assert store.reload() is False
    assert mode(store) is Mode.WARN
    assert store.reload() is None  # the same bad content is refused once, not at every poll
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "not valid YAML" in refusals[0].fields["problem"]  # type: ignore[attr-defined]

    path.unlink()
    assert store.reload() is False
    assert mode(store) is Mode.WARN

    path.write_text("mode: audit\n")
    assert store.reload() is True
    assert mode(store) is Mode.AUDIT
    assert results == ["success", "success", "failure", "failure", "success"]


def test_a_configmap_style_symlink_swap_is_seen(tmp_path: Path) -> None:
    """The kubelet updates a ConfigMap volume by pointing `..data` at a new directory."""
    for name, text in (("v1", "enforce"), ("v2", "audit")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(f"mode: {text}\n")
    (tmp_path / "..data").symlink_to("v1")
    (tmp_path / "config.yaml").symlink_to("..data/config.yaml")
    store = ConfigStore(tmp_path / "config.yaml")
    assert mode(store) is Mode.ENFORCE
    (tmp_path / "..data_tmp").symlink_to("v2")
    (tmp_path / "..data_tmp").replace(tmp_path / "..data")
    assert store.reload() is True
    assert mode(store) is Mode.AUDIT


def test_a_file_rewritten_in_place_is_never_read_half_written(tmp_path: Path) -> None:
    """An editor writes the new file in two steps; its first half is itself valid YAML (a
    different, weaker configuration). The watcher must only ever activate the whole file."""
    path = tmp_path / "config.yaml"
    path.write_text("mode: enforce\n")
    whole = "mode: warn\nexemptions:\n  namespaces: [ci]\n"
    half = whole.split("exemptions", maxsplit=1)[0]  # "mode: warn\n": valid, and not what was meant
    seen: list[str] = []
    store = ConfigStore(path)

    async def edit() -> None:
        watcher = asyncio.create_task(store.watch(0.02, settle=0.3))
        try:
            await asyncio.sleep(0.1)
            with path.open("w") as file:
                file.write(half)
                file.flush()
                for _ in range(10):  # the editor pauses mid-write; the watcher polls meanwhile
                    await asyncio.sleep(0.02)
                    seen.append(store.current.digest)
                file.write(whole[len(half) :])
            for _ in range(50):
                await asyncio.sleep(0.02)
                seen.append(store.current.digest)
        finally:
            watcher.cancel()

    asyncio.run(edit())
    assert _digest(half.encode()) not in seen
    assert store.plan.config.mode is Mode.WARN
    assert store.plan.config.exemptions.namespaces == ("ci",)


def test_a_changed_file_is_taken_once_it_settles(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mode: enforce\n")
    results: list[str] = []
    store = ConfigStore(path, observer=lambda result, _: results.append(result))

    async def change() -> None:
        watcher = asyncio.create_task(store.watch(0.02, settle=0.05))
        path.write_text("mode: audit\n")
        for _ in range(100):
            await asyncio.sleep(0.02)
            if mode(store) is Mode.AUDIT:
                break
        watcher.cancel()

    asyncio.run(change())
    assert mode(store) is Mode.AUDIT
    assert results == ["success", "success"]


def test_the_exemption_expiry_gauge_follows_the_active_configuration(tmp_path: Path) -> None:
    """Set at start and at every reload (app.build_state's observer); exemptions without an end
    are not exported, and a refused file leaves the gauge as the active configuration has it."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "exemptions:\n"
        '  users: [ci, {user: deployer, expires: "2027-03-31", reason: INC-1}]\n'
        "  images: [{image: 'vendor/*', expires: '2027-04-01T12:00:00+02:00'}]\n"
    )
    state = build_state(ServerSettings(config_path=path))

    def gauge() -> dict[str, float]:
        family = state.metrics.exemption_expiry.collect()
        return {s.labels["exemption"]: s.value for f in family for s in f.samples}

    start = {
        "exemptions.users[1]": datetime(2027, 3, 31, tzinfo=UTC).timestamp(),
        "exemptions.images[0]": datetime(2027, 4, 1, 10, tzinfo=UTC).timestamp(),
    }
    assert gauge() == start
    path.write_text(
        "rules:\n  - {id: r, description: R., expression: 'true',\n"
        "     exemptions: {groups: [{group: g, expires: '2030-01-01'}]}}\n"
    )
    assert state.store.reload() is True
    assert gauge() == {
        "rules[0].exemptions.groups[0]": datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    }
    path.write_text("exemptions: {users: [{user: x, expires: '2027-02-30'}]}\n")
    assert state.store.reload() is False
    assert list(gauge()) == ["rules[0].exemptions.groups[0]"]
    path.write_text("mode: warn\n")
    assert state.store.reload() is True
    assert gauge() == {}
