"""Auditing what runs: a scan through the official `kubernetes` client.

Every list call is paginated (`limit` + `continue`, followed to the end), and objects are read as
raw JSON (`_preload_content=False`): the client's typed models would drop fields they do not know,
and the policies read the objects exactly as the API server stores them. Lists come from the API
server without `apiVersion` and `kind` on their items; both are filled in from the list.

Each workload is reported once: an object whose controller (an `ownerReferences` entry with
`controller: true`) was listed is reported through it: pods through their ReplicaSet, Job,
StatefulSet, DaemonSet or ReplicationController; ReplicaSets through their Deployment; Jobs through
their CronJob. Owners are listed before what they own, so a scan streams page by page.
Namespaces are routed as the chart's webhook configurations route them (`webhook.audit.routing`),
or, given the name of the live configurations, by what those say (`webhook.audit.live`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from policies.base import Mode, items, mapping, text
from webhook.audit import network
from webhook.audit.evaluate import Target, evaluate
from webhook.audit.kubeconfig import kubeconfig_problem
from webhook.audit.live import CONFIGURATION_KINDS, Routes
from webhook.audit.report import Report
from webhook.audit.routing import EXCLUDED, MODE_LABEL, Skip, route
from webhook.core.engine import Webhook
from webhook.core.plan import Plan

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
TIMEOUT = (10, 60)
"""(connect, read) seconds of each call: a stuck API server must not stall a scan forever."""
ORDER = {"Deployment": 0, "CronJob": 1, "StatefulSet": 2, "DaemonSet": 3}
ORDER.update({"ReplicationController": 4, "ReplicaSet": 5, "Job": 6, "Pod": 7})


class ClusterError(Exception):
    """The cluster could not be reached or read; the message says which call failed and why."""


class Stopped(Exception):  # noqa: N818 - not an error: the process is asked to stop
    """The scan was interrupted (SIGTERM)."""


@dataclass(slots=True)
class Cluster:
    """A connection, and the namespaces the webhook never sees besides kube-system and
    kube-node-lease (in the cluster: the one initgate runs in)."""

    api: client.ApiClient
    excluded: dict[str, str] = field(default_factory=lambda: dict(EXCLUDED))
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(resource, continue token) of every list call, for logs and tests."""

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]


def connect(
    kubeconfig: Path | None = None, context: str | None = None, *, exclude: Iterable[str] = ()
) -> Cluster:
    """A client from `kubeconfig` (or $KUBECONFIG, ~/.kube/config), or, inside a pod with no
    kubeconfig given, from the pod's service account. `exclude`: namespaces the webhook
    configurations leave out besides the usual ones (the chart's `webhooks.excludeNamespaces`)."""
    in_cluster = (
        kubeconfig is None
        and context is None
        and "KUBECONFIG" not in os.environ
        and "KUBERNETES_SERVICE_HOST" in os.environ
    )
    problem = kubeconfig_problem(kubeconfig, context)
    if problem:
        raise ClusterError(problem)
    try:
        if in_cluster:
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            api = client.ApiClient(configuration)
        else:
            file = str(kubeconfig) if kubeconfig is not None else None
            api = config.new_client_from_config(config_file=file, context=context)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as error:
        raise ClusterError(f"cannot configure the kubernetes client: {error}") from error
    except (ValueError, yaml.YAMLError) as error:  # a kubeconfig that is not one
        raise ClusterError(f"cannot read the kubeconfig: {error}") from error
    cluster = Cluster(api)
    cluster.excluded.update(dict.fromkeys(exclude, "excluded with --exclude-namespace"))
    if in_cluster and SERVICE_ACCOUNT_NAMESPACE.exists():
        own = SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip()
        cluster.excluded[own] = "initgate runs here (excluded by the webhook configuration)"
    return cluster


def _fail(what: str, error: Exception) -> ClusterError:
    if isinstance(error, ApiException):
        reason = f"HTTP {error.status} {error.reason}"
        message = text(mapping(_json(error.body)).get("message"))
        return ClusterError(f"{what}: {reason}" + (f": {message}" if message else ""))
    pool = getattr(error, "pool", None)  # urllib3's MaxRetryError: the connection pool tried
    host = f"{pool.host}:{pool.port}" if pool is not None else "the API server"
    cause = network.describe(
        error,
        host=host,
        trust="the kubeconfig's certificate-authority must be the one that signed the API server's",
    )
    return ClusterError(f"{what}: {cause}")


def _json(body: Any) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def fetch(call: Callable[..., Any], what: str, **kwargs: Any) -> dict[str, Any]:
    """The JSON body of one call of the client, read raw; any failure is a `ClusterError`."""
    try:
        response = call(**kwargs, _preload_content=False, _request_timeout=TIMEOUT)
        try:
            data = json.loads(response.data)
        finally:
            response.release_conn()
    except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        raise _fail(what, error) from error
    return mapping(data)


def pages(
    cluster: Cluster,
    resource: str,
    call: Callable[..., Any],
    *,
    page_size: int,
    stop: Callable[[], bool] = lambda: False,
    **kwargs: Any,
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list call, followed to the end, items completed with apiVersion and kind.

    A continue token that expired (HTTP 410, after minutes on a huge list) restarts the list once
    from the beginning; objects already yielded are not yielded again."""
    token, restarted, seen = "", False, set[str]()
    while True:
        if stop():
            raise Stopped
        cluster.calls.append((resource, token))
        try:
            body = fetch(
                call, f"list {resource}", limit=page_size, _continue=token or None, **kwargs
            )
        except ClusterError as error:
            cause = error.__cause__
            if isinstance(cause, ApiException) and cause.status == 410 and token and not restarted:
                token, restarted = "", True
                continue
            raise
        kind = text(body.get("kind")).removesuffix("List")
        api_version = text(body.get("apiVersion"))
        page: list[dict[str, Any]] = []
        for item in items(body.get("items")):
            if not isinstance(item, dict):
                continue
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
            uid = text(mapping(item.get("metadata")).get("uid"))
            if uid and uid in seen:
                continue
            seen.add(uid)
            page.append(item)
        yield page
        token = text(mapping(body.get("metadata")).get("continue"))
        if not token:
            return


def webhook_routes(cluster: Cluster, name: str) -> Routes:
    """Routes from the ValidatingWebhookConfiguration and the MutatingWebhookConfiguration called
    `name`. One that does not exist calls nothing (the chart can leave either out); if neither
    exists, that is an error: the name is wrong, or initgate is not installed."""
    routes = installed_routes(cluster, name)
    if routes is None:
        kinds = " or ".join(CONFIGURATION_KINDS)
        raise ClusterError(f"no {kinds} {name}")
    return routes


def installed_routes(cluster: Cluster, name: str) -> Routes | None:
    """`webhook_routes`, or None when neither configuration exists (initgate is not installed
    under that name). Any other failure (forbidden, unreachable) is a `ClusterError`."""
    api = client.AdmissionregistrationV1Api(cluster.api)
    calls = dict(
        zip(
            CONFIGURATION_KINDS,
            (api.read_validating_webhook_configuration, api.read_mutating_webhook_configuration),
            strict=True,
        )
    )
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for kind, call in calls.items():
        try:
            body = fetch(call, f"get {kind} {name}", name=name)
        except ClusterError as error:
            cause = error.__cause__
            if isinstance(cause, ApiException) and cause.status == 404:
                missing.append(kind)
                continue
            raise
        body.setdefault("kind", kind)
        found.append(body)
    if not found:
        return None
    routes = Routes.of(found)
    routes.notes.extend(f"no {kind} {name}: its webhook is never called" for kind in missing)
    return routes


def _lists(api: client.ApiClient) -> list[tuple[str, Callable[..., Any], Callable[..., Any]]]:
    """(resource, list in all namespaces, list in one), owners before what they own."""
    core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
    return [
        ("deployments", apps.list_deployment_for_all_namespaces, apps.list_namespaced_deployment),
        ("cronjobs", batch.list_cron_job_for_all_namespaces, batch.list_namespaced_cron_job),
        (
            "statefulsets",
            apps.list_stateful_set_for_all_namespaces,
            apps.list_namespaced_stateful_set,
        ),
        ("daemonsets", apps.list_daemon_set_for_all_namespaces, apps.list_namespaced_daemon_set),
        (
            "replicationcontrollers",
            core.list_replication_controller_for_all_namespaces,
            core.list_namespaced_replication_controller,
        ),
        ("replicasets", apps.list_replica_set_for_all_namespaces, apps.list_namespaced_replica_set),
        ("jobs", batch.list_job_for_all_namespaces, batch.list_namespaced_job),
        ("pods", core.list_pod_for_all_namespaces, core.list_namespaced_pod),
    ]


def controller_of(obj: dict[str, Any]) -> str:
    """The uid of the object's controller ("" when it has none)."""
    for owner in items(mapping(obj.get("metadata")).get("ownerReferences")):
        if mapping(owner).get("controller") is True:
            return text(owner.get("uid"))
    return ""


def scan(
    cluster: Cluster,
    plan: Plan,
    *,
    namespace: str | None = None,
    default_mode: Mode = Mode.ENFORCE,
    page_size: int = 500,
    stop: Callable[[], bool] = lambda: False,
    webhooks: Routes | None = None,
    judge_as: Mode | None = None,
) -> Report:
    """Audit every pod and workload of the cluster (or of one namespace), each once. With
    `webhooks`, objects are routed by the live webhook configurations, not by the chart's labels
    and `default_mode`. With `judge_as`, the namespaces that are routed are judged in that mode
    rather than their own (what would happen if it were theirs)."""
    core = client.CoreV1Api(cluster.api)
    if namespace is not None:
        found = [fetch(core.read_namespace, f"get namespace {namespace}", name=namespace)]
    else:
        found = [
            ns
            for page in pages(
                cluster, "namespaces", core.list_namespace, page_size=page_size, stop=stop
            )
            for ns in page
        ]
    routes: dict[str, Mode | Skip] = {}
    labels: dict[str, dict[str, Any]] = {}
    for ns in found:
        metadata = mapping(ns.get("metadata"))
        name = text(metadata.get("name"))
        labels[name] = mapping(metadata.get("labels"))
        routes[name] = _route_namespace(name, labels[name], webhooks, default_mode, cluster)
    report = Report(
        namespaces={n: r.reason for n, r in routes.items() if isinstance(r, Skip)},
        modes={n: r for n, r in routes.items() if isinstance(r, Mode)},
        labelled={n for n, r in routes.items() if r == labels[n].get(MODE_LABEL)},
    )
    if namespace is not None and not isinstance(routes[namespace], Mode):
        return report
    scope = {"namespace": namespace} if namespace is not None else {}
    listed: set[str] = set()
    for resource, everywhere, within in _lists(cluster.api):
        call = within if namespace is not None else everywhere
        for page in pages(cluster, resource, call, page_size=page_size, stop=stop, **scope):
            for obj in page:
                _audit_one(
                    obj,
                    plan,
                    routes=routes,
                    labels=labels,
                    listed=listed,
                    report=report,
                    default=default_mode,
                    cluster=cluster,
                    webhooks=webhooks,
                    judge_as=judge_as,
                )
    report.objects.sort(key=lambda a: (a.namespace, ORDER.get(a.kind, 9), a.name))
    return report


def _audit_one(
    obj: dict[str, Any],
    plan: Plan,
    *,
    routes: dict[str, Mode | Skip],
    labels: dict[str, dict[str, Any]],
    listed: set[str],
    report: Report,
    default: Mode,
    cluster: Cluster,
    webhooks: Routes | None,
    judge_as: Mode | None,
) -> None:
    metadata = mapping(obj.get("metadata"))
    if obj.get("kind") != "Pod":
        listed.add(text(metadata.get("uid")))
    owner = controller_of(obj)
    if owner and owner in listed:
        return
    namespace = text(metadata.get("namespace"))
    if namespace not in routes:  # created since the namespaces were listed: no labels known
        labels[namespace] = {"kubernetes.io/metadata.name": namespace}
        routes[namespace] = _route_namespace(
            namespace, labels[namespace], webhooks, default, cluster
        )
    cap = routes[namespace]
    if isinstance(cap, Skip):
        report.namespaces[namespace] = cap.reason
        return
    report.modes.setdefault(namespace, cap)
    target = Target(obj=obj, namespace=namespace, cap=judge_as or cap)
    if webhooks is not None:
        namespace_labels = labels[namespace]

        def routed(webhook: Webhook, judged: dict[str, Any]) -> Mode | None:
            cap = webhooks.cap(webhook, judged, namespace_labels)
            return judge_as if cap is not None and judge_as is not None else cap

        target = dataclasses.replace(target, route=routed)
    report.add(evaluate(target, plan))


def _route_namespace(
    name: str,
    labels: dict[str, Any],
    webhooks: Routes | None,
    default: Mode,
    cluster: Cluster,
) -> Mode | Skip:
    if webhooks is None:
        return route(name, labels, default=default, excluded=cluster.excluded)
    cap = webhooks.namespace(labels)
    return cap if cap is not None else Skip("no webhook entry selects it (namespaceSelector)")
