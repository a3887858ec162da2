"""PolicyReports (`wgpolicyk8s.io/v1alpha2`): the format Policy Reporter and other tools read.

One report named `initgate` per audited namespace, labelled `app.kubernetes.io/managed-by:
initgate`. A finding of a validating policy configured to enforce or audit is a `fail` (scored);
one of a warn-mode policy (advice, such as init-lint) and a mutation the webhook would apply are
`warn` (not scored); a policy that raised is an `error`; a policy an exemption spared the object
from (or lifted every finding of) is a `skip`; every other enabled policy with nothing to say
about an object is a `pass`. A rule of the configuration (`rules:`) is a policy of its own id.
A report is only rewritten when its results changed, and the report of a namespace that is no
longer audited (deleted, ignored, off) is deleted.

The API is looked up in discovery before each write: when the CRD is absent, that is logged once
and the audit goes on without reports.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from policies.base import Mode, items, mapping, text
from webhook.audit.cluster import Cluster, ClusterError, fetch, pages
from webhook.audit.evaluate import Audited, Item
from webhook.audit.report import Report, describe
from webhook.core.messages import one_line
from webhook.core.plan import Plan
from webhook.server.logs import event

LOG = logging.getLogger("initgate.audit")
GROUP, VERSION, PLURAL, NAME = "wgpolicyk8s.io", "v1alpha2", "policyreports", "initgate"
MANAGED = ("app.kubernetes.io/managed-by", "initgate")
MAX_RESULTS = 1000
"""Results kept per report (failures first): an object must stay well under etcd's 1.5 MiB."""
_ORDER = {"fail": 0, "error": 1, "warn": 2, "skip": 3, "pass": 4}


def _results(audited: Audited, plan: Plan, now: int) -> list[dict[str, Any]]:
    reference = {
        "apiVersion": audited.api_version,
        "kind": audited.kind,
        "namespace": audited.namespace,
        "name": audited.name,
        "uid": audited.uid,
    }
    configured = {rule.policy.id: rule.mode for rule in (*plan.validate, *plan.mutate)}

    def result(policy: str, outcome: str, **extra: Any) -> dict[str, Any]:
        return {
            "source": "initgate",
            "policy": policy,
            "result": outcome,
            "scored": outcome in ("fail", "pass"),
            "timestamp": {"seconds": now, "nanos": 0},
            "resources": [reference],
            **extra,
        }

    found = [result(i.policy, _outcome(i, configured), **_details(i)) for i in audited.items]
    spoken = {i.policy for i in audited.items}
    for line in audited.errors:
        policy, _, error = line.partition(": ")  # `rule: init "setup" (...): error`
        spoken.add(policy)
        found.append(result(policy, "error", message=one_line(error, 1024), severity="medium"))
    exempted: dict[str, list[str]] = {}
    for exemption in audited.exemptions:
        if exemption.policy is not None and exemption.policy not in spoken:
            exempted.setdefault(exemption.policy, []).append(exemption.exemption)
    for rule in (*plan.validate, *plan.mutate):
        policy = rule.policy.id
        if rule.mode.cap(audited.cap) is Mode.OFF or policy in spoken:
            continue
        if policy in exempted:
            labels = ", ".join(exempted[policy])
            found.append(
                result(
                    policy,
                    "skip",
                    message=one_line(f"exempt: {labels}", 1024),
                    properties={"exemptions": labels},
                )
            )
        else:
            found.append(result(policy, "pass"))
    return found


def _outcome(item: Item, configured: dict[str, Mode]) -> str:
    if item.webhook == "validate" and configured.get(item.policy) is not Mode.WARN:
        return "fail"
    return "warn"


def _details(item: Item) -> dict[str, Any]:
    severity = (
        "high" if item.action == "deny" else "medium" if item.webhook == "validate" else "low"
    )
    properties = {
        "mode": item.mode.value,
        "action": item.action,
        "webhook": item.webhook,
        "field": item.field,
        "container": item.container or "",
        "role": item.role or "",
        "appliesTo": item.applies_to,
    }
    return {
        "rule": item.key,
        "severity": severity,
        "message": one_line(f"{item.location}: {describe(item)}", 1024),
        "properties": {k: v for k, v in properties.items() if v},
    }


def build(namespace: str, objects: Iterable[Audited], plan: Plan, *, now: int) -> dict[str, Any]:
    """The PolicyReport of one namespace."""
    results = [r for audited in objects for r in _results(audited, plan, now)]
    results.sort(
        key=lambda r: (
            _ORDER[r["result"]],
            r["resources"][0]["kind"],
            r["resources"][0]["name"],
            r["policy"],
            r.get("rule", ""),
        )
    )
    counts = Counter(r["result"] for r in results)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PolicyReport",
        "metadata": {"name": NAME, "namespace": namespace, "labels": dict([MANAGED])},
        "summary": {k: counts[k] for k in ("pass", "fail", "warn", "error", "skip")},
        "results": results[:MAX_RESULTS],
    }


def _comparable(report: dict[str, Any]) -> tuple[Any, Any]:
    results = [
        {k: v for k, v in mapping(r).items() if k != "timestamp"}
        for r in items(report.get("results"))
    ]
    return report.get("summary"), results


class PolicyReports:
    """Writes the reports of a scan through the cluster connection."""

    def __init__(self, cluster: Cluster, *, page_size: int = 500) -> None:
        self.cluster = cluster
        self.custom = client.CustomObjectsApi(cluster.api)
        self.apis = client.ApisApi(cluster.api)
        self.page_size = page_size
        self._absent_logged = False

    def available(self) -> bool:
        """Whether the API server serves wgpolicyk8s.io/v1alpha2 (the CRD is installed)."""
        groups = fetch(self.apis.get_api_versions, "discover API groups")
        for group in items(groups.get("groups")):
            if mapping(group).get("name") == GROUP and any(
                mapping(v).get("version") == VERSION for v in items(group.get("versions"))
            ):
                self._absent_logged = False
                return True
        if not self._absent_logged:
            event(LOG, "no PolicyReport API (wgpolicyk8s.io/v1alpha2): reports are not written")
            self._absent_logged = True
        return False

    def write(self, report: Report, plan: Plan, *, now: float | None = None) -> Counter[str] | None:
        """Create, update or delete reports to match `report`; None when the API is absent.
        Returns how many reports were created, updated, unchanged and deleted."""
        if not self.available():
            return None
        stamp = int(time.time() if now is None else now)
        namespaces: dict[str, list[Audited]] = {}
        for audited in report.objects:
            if audited.outcome != "exempt":
                namespaces.setdefault(audited.namespace, []).append(audited)
        existing = {
            text(mapping(r.get("metadata")).get("namespace")): r
            for page in pages(
                self.cluster,
                PLURAL,
                self.custom.list_cluster_custom_object,
                page_size=self.page_size,
                group=GROUP,
                version=VERSION,
                plural=PLURAL,
                label_selector="=".join(MANAGED),
            )
            for r in page
            if mapping(r.get("metadata")).get("name") == NAME
        }
        done: Counter[str] = Counter()
        for namespace, objects in sorted(namespaces.items()):
            desired = build(namespace, objects, plan, now=stamp)
            current = existing.get(namespace)
            if current is not None and _comparable(current) == _comparable(desired):
                done["unchanged"] += 1
            elif current is None:
                self._create(namespace, desired)
                done["created"] += 1
            else:
                self._replace(namespace, desired, current)
                done["updated"] += 1
        for namespace in sorted(set(existing) - set(namespaces)):
            self._call(self.custom.delete_namespaced_custom_object, "delete", namespace)
            done["deleted"] += 1
        return done

    def _call(
        self, call: Any, what: str, namespace: str, *, named: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        if named:
            kwargs["name"] = NAME
        where = {"group": GROUP, "version": VERSION, "namespace": namespace, "plural": PLURAL}
        return fetch(call, f"{what} PolicyReport {namespace}/{NAME}", **where, **kwargs)

    def _create(self, namespace: str, desired: dict[str, Any]) -> None:
        try:
            create = self.custom.create_namespaced_custom_object
            self._call(create, "create", namespace, named=False, body=desired)
        except ClusterError as error:
            if not _conflict(error):
                raise
            current = self._call(self.custom.get_namespaced_custom_object, "get", namespace)
            self._replace(namespace, desired, current)

    def _replace(self, namespace: str, desired: dict[str, Any], current: dict[str, Any]) -> None:
        """Replace at the version read; someone else's write in between is retried once."""
        for attempt in range(2):
            version = mapping(current.get("metadata")).get("resourceVersion")
            body = {**desired, "metadata": {**desired["metadata"], "resourceVersion": version}}
            try:
                self._call(
                    self.custom.replace_namespaced_custom_object, "update", namespace, body=body
                )
            except ClusterError as error:
                if attempt or not _conflict(error):
                    raise
                current = self._call(self.custom.get_namespaced_custom_object, "get", namespace)
            else:
                return


def _conflict(error: ClusterError) -> bool:
    cause = error.__cause__
    return isinstance(cause, ApiException) and cause.status == 409
