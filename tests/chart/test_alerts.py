"""The PrometheusRule the chart renders, run by the real promtool: `promtool check rules`, then one
`promtool test rules` file per alert, with series that make it fire and series that keep it
silent, for the chart's default thresholds and for overridden ones (ci/full-values.yaml). Each
case is generated at a level on either side of both thresholds and expected to fire exactly when
it is past the threshold of the values rendered: a threshold that did not move with its value, or
a comparison turned around, fails. Every alert's `runbook_url` opens a section of
docs/operations.md that names what the alert queries."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.utils import floatToGoString

from tests.chart.render import CHART, NAMESPACE, ROOT, Rendered, render
from tests.support.prometheus import promtool
from webhook.server.metrics import LATENCY_BUCKETS

pytestmark = pytest.mark.chart

RUNBOOKS = ROOT / "docs" / "operations.md"
RUNBOOK_URL = "https://github.com/initgate/initgate/blob/main/docs/operations.md"
OVERRIDES = CHART / "ci" / "full-values.yaml"
SELECTOR = {"namespace": NAMESPACE}


@dataclass(frozen=True)
class Values:
    """One way of rendering the chart, and the thresholds its values set."""

    name: str
    args: tuple[str, ...]
    error_ratio: float
    p99_seconds: float
    expiry_days: int
    exemption_days: int
    audit_minutes: int


def _thresholds(name: str, path: Path, args: tuple[str, ...]) -> Values:
    values = yaml.safe_load(path.read_text())
    rule, interval = values["metrics"]["prometheusRule"], values["audit"]["interval"]
    assert interval.endswith("m"), "the cases below count the audit interval in minutes"
    return Values(
        name=name,
        args=args,
        error_ratio=float(rule["errorRatio"]),
        p99_seconds=float(rule["latencyP99Seconds"]),
        expiry_days=int(rule["certificateExpiryDays"]),
        exemption_days=int(rule["exemptionExpiryDays"]),
        audit_minutes=int(interval[:-1]),
    )


DEFAULTS = _thresholds(
    "defaults",
    CHART / "values.yaml",
    ("--set", "metrics.prometheusRule.enabled=true", "--set", "audit.enabled=true"),
)
OVERRIDDEN = _thresholds("overridden", OVERRIDES, ("-f", str(OVERRIDES)))
BOTH = (DEFAULTS, OVERRIDDEN)


def test_the_overrides_move_every_threshold() -> None:
    for field in ("error_ratio", "p99_seconds", "expiry_days", "exemption_days", "audit_minutes"):
        assert getattr(DEFAULTS, field) != getattr(OVERRIDDEN, field), field


def rendered(values: Values) -> Rendered:
    return render(*values.args)


def rules_of(values: Values) -> dict[str, dict[str, Any]]:
    rule = rendered(values).one("PrometheusRule")
    (group,) = rule["spec"]["groups"]
    return {r["alert"]: r for r in group["rules"]}


def write_rules(values: Values, folder: Path) -> Path:
    """The PrometheusRule's spec as a Prometheus rules file (the operator loads exactly that)."""
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(rendered(values).one("PrometheusRule")["spec"]))
    return path


@pytest.mark.parametrize("values", BOTH, ids=lambda v: v.name)
def test_promtool_checks_the_rules(values: Values, tmp_path: Path) -> None:
    result = promtool("check", "rules", str(write_rules(values, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules_of(values))} rules found" in result.stdout


# Cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Series (promtool expanding notation, one sample a minute) and the alert expected at
    `minutes`: the labels of each alert that fires (none: silent)."""

    name: str
    series: dict[str, str]
    minutes: int
    fires: list[dict[str, str]]


def selector(**labels: str) -> str:
    pairs = {**SELECTOR, **labels}
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def admission_errors(values: Values) -> Iterator[Case]:
    """A thousand reviews a minute, a ratio of them errors or refusals: half and twice each
    threshold. With only errors there is no bad-request series at all, and the other way round."""
    requests = "initgate_admission_requests_total"
    for ratio in sorted(
        {t * f for t in (DEFAULTS.error_ratio, OVERRIDDEN.error_ratio) for f in (0.5, 2)}
    ):
        failed = round(1000 * ratio)
        fires = [{"severity": "critical"}] if ratio > values.error_ratio else []
        allowed = f"{requests}{selector(webhook='validate', decision='allowed', kind='Pod')}"
        yield Case(
            f"{ratio:.3f} of the answers errors",
            {
                allowed: f"0+{1000 - failed}x25",
                f"{requests}{selector(webhook='validate', decision='error', kind='Pod')}": f"0+{failed}x25",
            },
            20,
            fires,
        )
        yield Case(
            f"{ratio:.3f} of the requests refused",
            {
                allowed: f"0+{1000 - failed}x25",
                f"initgate_bad_requests_total{selector(reason='malformed')}": f"0+{failed}x25",
            },
            20,
            fires,
        )
    yield Case(
        "errors of another release's namespace",
        {
            f"{requests}{selector(webhook='validate', decision='allowed')}": "0+1000x25",
            f"{requests}{selector(namespace='elsewhere', decision='error')}": "0+1000x25",
        },
        20,
        [],
    )
    yield Case(
        "no traffic at all", {f"initgate_build_info{selector(version='0.1.0')}": "1x25"}, 20, []
    )


def exported(bound: float) -> str:
    """A bucket bound as the webhook exports it in `le` (prometheus_client's format)."""
    text: str = floatToGoString(bound)  # type: ignore[no-untyped-call]
    return text


def slow_answers(values: Values) -> Iterator[Case]:
    """Every answer of one webhook in one histogram bucket, so that histogram_quantile puts the
    p99 at 99 % of that bucket's width: buckets just below, across and above both thresholds."""
    bounds = (0.0, *LATENCY_BUCKETS)
    wanted = {DEFAULTS.p99_seconds, OVERRIDDEN.p99_seconds}
    chosen: set[int] = set()
    for threshold in wanted:
        below = max(i for i in range(1, len(bounds)) if bounds[i] <= threshold)
        chosen.update((below, below + 1))
    for index in sorted(chosen):
        low, high = bounds[index - 1], bounds[index]
        p99 = low + 0.99 * (high - low)
        series = {}
        for le in (*LATENCY_BUCKETS, float("inf")):
            rate = 100 if le >= high else 0
            key = f"initgate_admission_duration_seconds_bucket{selector(webhook='mutate', le=exported(le))}"
            series[key] = f"0+{rate}x25"
        fires = [{"severity": "warning", "webhook": "mutate"}] if p99 > values.p99_seconds else []
        yield Case(f"p99 {p99:g}s", series, 20, fires)


def days_around(threshold: Callable[[Values], int]) -> list[int]:
    """A day less and a day more than the threshold, of the defaults and of the overrides."""
    return sorted({threshold(values) + d for values in BOTH for d in (-1, 1)})


def certificate_expiry(values: Values) -> Iterator[Case]:
    """Two replicas, one with a year left, the other with a day less and a day more than each
    threshold (at the evaluation, two hours in)."""
    for days in days_around(lambda v: v.expiry_days):
        expiry = "initgate_certificate_expiry_timestamp_seconds"
        series = {
            f"{expiry}{selector(pod='initgate-a')}": f"{7200 + 365 * 86400}x150",
            f"{expiry}{selector(pod='initgate-b')}": f"{7200 + days * 86400}x150",
        }
        fires = [{"severity": "critical"}] if days < values.expiry_days else []
        yield Case(f"{days} days left", series, 120, fires)


EXEMPTION = "initgate_exemption_expiry_timestamp_seconds"


def exemption_expires_soon(values: Values) -> Iterator[Case]:
    """One exemption ending a day before and after each threshold (at the evaluation, two hours
    in), as two replicas report it, one still on a configuration where it lasts a year; another
    exemption that ends in a year, and one that has already ended (the other alert's)."""
    label = "exemptions.images[0]"
    year = f"{7200 + 365 * 86400}x150"
    for days in days_around(lambda v: v.exemption_days):
        series = {
            f"{EXEMPTION}{selector(pod='initgate-a', exemption=label)}": f"{7200 + days * 86400}x150",
            f"{EXEMPTION}{selector(pod='initgate-b', exemption=label)}": year,
            f"{EXEMPTION}{selector(pod='initgate-a', exemption='rules[0].exemptions.users[1]')}": year,
            f"{EXEMPTION}{selector(pod='initgate-a', exemption='exemptions.users[0]')}": "3600x150",
        }
        soon = days < values.exemption_days
        yield Case(
            f"ends in {days} days",
            series,
            120,
            [{"severity": "warning", "exemption": label}] if soon else [],
        )
    ended = f"{EXEMPTION}{selector(pod='initgate-a', exemption='exemptions.users[0]')}"
    yield Case("ended 5 minutes ago", {ended: "6900x150"}, 120, [])


def exemption_expired(values: Values) -> Iterator[Case]:
    """Exemptions that ended an hour ago (firing), ten minutes ago (pending: `for` is 15
    minutes), that end in an hour, and one that ended and was then removed from the
    configuration (its series stops)."""
    label = "policies.init-privileged.exemptions.images[2]"
    name = f"{EXEMPTION}{selector(pod='initgate-a', exemption=label)}"
    fires = [{"severity": "warning", "exemption": label}]
    yield Case("ended an hour ago", {name: "3600x150"}, 120, fires)
    yield Case("ended 10 minutes ago", {name: "6600x150"}, 120, [])
    yield Case("ends in an hour", {name: "10800x150"}, 120, [])
    yield Case("ended, then removed", {name: "3600x80"}, 120, [])


def any_increase(
    metric: str, labels: dict[str, str], fired: dict[str, str]
) -> Callable[[Values], Iterator[Case]]:
    """An alert on any increase over 15 minutes, including the first one of a series that did not
    exist before (a labelled counter appears at 1), and silent again once 15 minutes passed."""

    def cases(_: Values) -> Iterator[Case]:
        name = f"{metric}{selector(**labels)}"
        fires = [{"severity": "warning", **fired}]
        yield Case("never increased", {name: "0x40"}, 30, [])
        yield Case("increased from 0", {name: "0x5 2x40"}, 10, fires)
        yield Case("appeared at 1 (its first increase)", {name: "_x5 1x40"}, 10, fires)
        yield Case("increased 20 minutes ago", {name: "0x5 1x40"}, 30, [])

    return cases


def config_refused(values: Values) -> Iterator[Case]:
    yield from any_increase("initgate_config_reloads_total", {"result": "failure"}, {})(values)
    success = f"initgate_config_reloads_total{selector(result='success')}"
    yield Case("only successful reloads", {success: "1+1x40"}, 30, [])


def audit_stale(values: Values) -> Iterator[Case]:
    """Scans every 10 minutes, still going or stopped some time ago (firing once that is more
    than three intervals plus the 15 minutes of `for`); no audit reporting at all."""
    window = 3 * values.audit_minutes
    labels = {"pod": "initgate-audit-a", "job": "initgate-audit"}
    name = f"initgate_audit_last_scan_timestamp_seconds{selector(**labels)}"
    # One sample a minute: the timestamp of the last completed scan moves every ten, the last
    # time at minute 190.
    scans = " ".join(str(1000 + 600 * (minute // 10)) for minute in range(191))
    yield Case("scanning every 10 minutes", {name: scans}, 180, [])
    for stopped in (60, 150):
        fires = [{"severity": "warning", **SELECTOR, **labels}] if stopped > window + 15 else []
        series = {name: f"{scans} {1000 + 600 * 19}x{stopped + 10}"}
        yield Case(f"stopped {stopped} minutes ago", series, 190 + stopped, fires)
    other = "initgate_build_info" + selector(version="0.1.0")
    yield Case("no audit reporting", {other: "1x40"}, 30, [{"severity": "warning", **SELECTOR}])


CASES: dict[str, Callable[[Values], Iterator[Case]]] = {
    "InitgateAdmissionErrors": admission_errors,
    "InitgatePolicyErrors": any_increase(
        "initgate_policy_errors_total", {"policy": "init-lint"}, {"policy": "init-lint"}
    ),
    "InitgateSlowAnswers": slow_answers,
    "InitgateCertificateExpiresSoon": certificate_expiry,
    "InitgateTLSHandshakeFailures": any_increase("initgate_tls_handshake_failures_total", {}, {}),
    "InitgateConfigRefused": config_refused,
    "InitgateExemptionExpiresSoon": exemption_expires_soon,
    "InitgateExemptionExpired": exemption_expired,
    "InitgateAuditStale": audit_stale,
}


def test_every_alert_has_cases() -> None:
    for values in BOTH:
        assert set(rules_of(values)) == set(CASES)


TEMPLATE = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")


def expanded(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    """The rule's annotations as Prometheus expands them for an alert with `labels`."""
    result = {}
    for key, text in rule["annotations"].items():
        value = TEMPLATE.sub(lambda m: labels[m[1]], text)
        assert "{{" not in value, f"a template this test does not expand: {text}"
        result[key] = value
    return result


def unit_tests(alert: str, values: Values) -> dict[str, Any]:
    rule = rules_of(values)[alert]
    tests = []
    for case in CASES[alert](values):
        expected = [
            {"exp_labels": labels, "exp_annotations": expanded(rule, labels)}
            for labels in case.fires
        ]
        tests.append(
            {
                "name": case.name,
                "interval": "1m",
                "input_series": [{"series": k, "values": v} for k, v in case.series.items()],
                "alert_rule_test": [
                    {"eval_time": f"{case.minutes}m", "alertname": alert, "exp_alerts": expected}
                ],
            }
        )
    return {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}


@pytest.mark.parametrize("values", BOTH, ids=lambda v: v.name)
@pytest.mark.parametrize("alert", sorted(CASES))
def test_alert_fires_past_its_threshold_only(alert: str, values: Values, tmp_path: Path) -> None:
    write_rules(values, tmp_path)
    tests = unit_tests(alert, values)
    assert any(t["alert_rule_test"][0]["exp_alerts"] for t in tests["tests"]), "never fires"
    assert any(not t["alert_rule_test"][0]["exp_alerts"] for t in tests["tests"]), "never silent"
    path = tmp_path / f"{alert}.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = promtool("test", "rules", path.name, cwd=tmp_path)
    assert result.returncode == 0, f"{path.read_text()}\n{result.stdout}{result.stderr}"


# Runbooks ----------------------------------------------------------------------------------------


@cache
def sections() -> dict[str, str]:
    """docs/operations.md by heading anchor (GitHub's: lower case, punctuation other than `-` and
    `_` dropped, spaces to `-`, `-1`, `-2`... after repeats), each with its text up to the next
    heading of the same or a higher level."""
    lines = RUNBOOKS.read_text().splitlines()
    headings = []
    in_code = False
    for number, line in enumerate(lines):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"(#{1,6}) (.+)", line)):
            headings.append((number, len(match[1]), match[2]))
    found: dict[str, str] = {}
    seen: dict[str, int] = {}
    for position, (number, level, title) in enumerate(headings):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchor = f"{slug}-{count}" if count else slug
        end = next((n for n, lv, _ in headings[position + 1 :] if lv <= level), len(lines))
        found[anchor] = "\n".join(lines[number:end])
    return found


@pytest.mark.parametrize("values", BOTH, ids=lambda v: v.name)
def test_every_alert_has_a_runbook_section(values: Values) -> None:
    for alert, rule in rules_of(values).items():
        url = rule["annotations"].get("runbook_url", "")
        base, _, anchor = url.partition("#")
        assert base == RUNBOOK_URL, f"{alert}: runbook_url {url!r}"
        assert anchor in sections(), f"{alert}: no section #{anchor} in docs/operations.md"
        text = sections()[anchor]
        assert alert in text.splitlines()[0], f"{alert}: #{anchor} is about something else"
        # How to confirm it: the metrics it queries, and where to look in the cluster.
        for metric in set(re.findall(r"\binitgate_[a-z_]+", rule["expr"])):
            assert metric in text, f"{alert}: its runbook does not mention {metric}"
        assert "kubectl" in text, f"{alert}: its runbook gives no kubectl command"
        assert "What to do" in text, f"{alert}: its runbook does not say what to do"
