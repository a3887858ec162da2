"""Realistic pods, as the API server hands them to a webhook: the common init-container patterns
(downloads, waits, migrations, permissions, native sidecars, service meshes, secret agents).

Every function returns a fresh object, so a test may change it. Shapes follow what the projects
ship (Istio 1.24's injector, Linkerd's proxy-init v2.4.1, Vault's agent injector, the Prometheus
operator) and the Kubernetes documentation's init-container example.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.support.reviews import pod

BUSYBOX = "busybox:1.36"
LIMITED: dict[str, Any] = {
    "limits": {"cpu": "200m", "memory": "128Mi"},
    "requests": {"cpu": "50m", "memory": "64Mi"},
}
SERVICE_ACCOUNT = {
    "name": "kube-api-access-7xk2p",
    "projected": {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {
                "configMap": {
                    "name": "kube-root-ca.crt",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                }
            },
        ],
    },
}
TOKEN_MOUNT = {
    "name": "kube-api-access-7xk2p",
    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    "readOnly": True,
}


def limited(**resources: dict[str, str]) -> dict[str, Any]:
    """Requests and limits within the defaults; `limits=...` or `requests=...` replace either."""
    return {**copy.deepcopy(LIMITED), **resources}


def mount(volume: str, path: str, *, read_only: bool = False) -> dict[str, Any]:
    # The API server drops `readOnly: false`: a writable mount simply has no readOnly.
    return {"name": volume, "mountPath": path, **({"readOnly": True} if read_only else {})}


def empty_dir(name: str, **source: str) -> dict[str, Any]:
    return {"name": name, "emptyDir": dict(source)}


def config_map(name: str, config: str | None = None) -> dict[str, Any]:
    return {"name": name, "configMap": {"name": config or name, "defaultMode": 420}}


def claim(name: str) -> dict[str, Any]:
    return {"name": name, "persistentVolumeClaim": {"claimName": name}}


def token(name: str, *, audience: str, seconds: int) -> dict[str, Any]:
    """A projected service account token for an audience (what meshes mount for identity)."""
    source = {"audience": audience, "expirationSeconds": seconds, "path": name}
    return {
        "name": name,
        "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": source}]},
    }


def shell(
    name: str,
    script: str,
    *,
    image: str = BUSYBOX,
    mounts: list[dict[str, Any]] | None = None,
    resources: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A container running `sh -c SCRIPT`, with limits unless `resources` says otherwise."""
    return {
        "name": name,
        "image": image,
        "command": ["sh", "-c", script],
        "resources": copy.deepcopy(LIMITED) if resources is None else resources,
        **({"volumeMounts": mounts} if mounts else {}),
        **fields,
    }


def app(name: str = "app", image: str = "nginx:1.27", **fields: Any) -> dict[str, Any]:
    """An app container without resources (`resources: {}`, as the API server fills it)."""
    return {"name": name, "image": image, "resources": {}, **fields}


def every_role(**fields: Any) -> dict[str, Any]:
    """One container of each role, each with `fields`: init "setup", sidecar "logs", app "web",
    ephemeral "debug" (for tests of which roles a policy judges)."""
    obj = pod(
        init=[
            {"name": "setup", "image": BUSYBOX, "command": ["sh", "-c", "true"], **fields},
            {"name": "logs", "image": BUSYBOX, "restartPolicy": "Always", **fields},
        ],
        app=[{"name": "web", "image": "nginx:1.27", **fields}],
    )
    obj["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": BUSYBOX, **copy.deepcopy(fields)}
    ]
    return obj


def model_download() -> dict[str, Any]:
    """An init container downloads model weights into an emptyDir; the server reads them."""
    fetch = shell(
        "fetch-model",
        "curl -fsSL --retry 5 -o /models/model.safetensors "
        "https://models.example.com/llama/model.safetensors",
        image="curlimages/curl:8.10.1",
        mounts=[mount("models", "/models")],
    )
    server = app(
        "server",
        "vllm/vllm-openai:v0.6.3",
        args=["--model", "/models"],
        volumeMounts=[mount("models", "/models")],
    )
    return pod(name="llm", init=[fetch], app=[server], volumes=[empty_dir("models")])


DOCS_WAIT = (
    "until nslookup {0}.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
    ".svc.cluster.local; do echo waiting for {0}; sleep 2; done"
)


def docs_wait_for_services() -> dict[str, Any]:
    """The Kubernetes documentation's init-container example, verbatim (no resources at all)."""
    waits = [
        {
            "name": f"init-{svc}",
            "image": "busybox:1.28",
            "command": ["sh", "-c", DOCS_WAIT.format(svc)],
        }
        for svc in ("myservice", "mydb")
    ]
    main = app(
        "myapp-container",
        "busybox:1.28",
        command=["sh", "-c", "echo The app is running! && sleep 3600"],
    )
    return pod(name="myapp-pod", init=waits, app=[main])


def wait_for_database(script: str = "until nc -z db 5432; do sleep 2; done") -> dict[str, Any]:
    """An init container waits for PostgreSQL before the app starts."""
    return pod(
        name="api", init=[shell("wait-for-db", script)], app=[app("api", "example.com/api:3.2")]
    )


def migration() -> dict[str, Any]:
    """golang-migrate applies the schema from a ConfigMap before the app starts."""
    migrate = {
        "name": "migrate",
        "image": "migrate/migrate:v4.17.1",
        "args": ["-path", "/migrations", "-database", "$(DATABASE_URL)", "up"],
        "env": [
            {
                "name": "DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}},
            }
        ],
        "resources": limited(),
        "volumeMounts": [mount("migrations", "/migrations")],
    }
    return pod(
        name="api",
        init=[migrate],
        app=[app("api", "example.com/api:3.2")],
        volumes=[config_map("migrations", "api-migrations")],
    )


def config_validation() -> dict[str, Any]:
    """nginx checks its configuration before the server starts: a bad ConfigMap fails early."""
    check = {
        "name": "check-config",
        "image": "nginx:1.27",
        "command": ["nginx", "-t", "-c", "/etc/nginx/nginx.conf"],
        "resources": limited(),
        "volumeMounts": [mount("nginx-conf", "/etc/nginx")],
    }
    server = app("web", volumeMounts=[mount("nginx-conf", "/etc/nginx")])
    return pod(init=[check], app=[server], volumes=[config_map("nginx-conf")])


def rendered_config() -> dict[str, Any]:
    """An init container renders a template into an emptyDir the app reads."""
    render = shell(
        "render-config",
        "envsubst < /templates/app.conf.tpl > /config/app.conf",
        image="alpine:3.20",
        mounts=[mount("templates", "/templates"), mount("config", "/config")],
    )
    server = app("web", volumeMounts=[mount("config", "/etc/app")])
    volumes = [config_map("templates", "app-templates"), empty_dir("config")]
    return pod(init=[render], app=[server], volumes=volumes)


def permissions() -> dict[str, Any]:
    """A root init container gives the data volume to the app's user: the app writes there."""
    fix = shell(
        "fix-permissions",
        "chown -R 1000:1000 /data && chmod 0775 /data",
        mounts=[mount("data", "/data")],
        securityContext={"runAsUser": 0, "capabilities": {"add": ["CHOWN", "FOWNER"]}},
    )
    server = app(
        "app",
        "example.com/app:2.1",
        securityContext={"runAsUser": 1000},
        volumeMounts=[mount("data", "/data")],
    )
    return pod(init=[fix], app=[server], volumes=[empty_dir("data")])


def seeded_claim() -> dict[str, Any]:
    """An init container seeds a PersistentVolumeClaim the app then owns and writes."""
    seed = shell(
        "seed-data",
        "cp -rn /seed/. /var/lib/app/",
        image="example.com/app-seed:2.1",
        mounts=[mount("data", "/var/lib/app")],
    )
    server = app("app", "example.com/app:2.1", volumeMounts=[mount("data", "/var/lib/app")])
    return pod(name="app-0", init=[seed], app=[server], volumes=[claim("data")])


def log_sidecar() -> dict[str, Any]:
    """A native sidecar ships the logs the app writes: the volume must stay writable."""
    shipper = {
        "name": "log-shipper",
        "image": "fluent/fluent-bit:3.1",
        "restartPolicy": "Always",
        "resources": limited(requests={"cpu": "20m", "memory": "32Mi"}),
        "volumeMounts": [mount("logs", "/var/log/app")],
    }
    server = app("web", volumeMounts=[mount("logs", "/var/log/nginx")])
    return pod(init=[shipper], app=[server], volumes=[empty_dir("logs")])


def metrics_sidecar() -> dict[str, Any]:
    """A native sidecar exports the app's metrics; it declares no resources of its own."""
    exporter = {
        "name": "exporter",
        "image": "nginx/nginx-prometheus-exporter:1.3.0",
        "args": ["--nginx.scrape-uri=http://localhost:8080/stub_status"],
        "restartPolicy": "Always",
        "ports": [{"name": "metrics", "containerPort": 9113, "protocol": "TCP"}],
    }
    return pod(init=[exporter], app=[app("web")])


def privileged_sysctl() -> dict[str, Any]:
    """A DaemonSet-style init container tunes the node's kernel: privileged."""
    tune = shell(
        "sysctl",
        "sysctl -w net.core.somaxconn=4096",
        securityContext={"privileged": True},
    )
    return pod(name="node-tuner", init=[tune], app=[app("pause", "registry.k8s.io/pause:3.10")])


ISTIO_IMAGE = "docker.io/istio/proxyv2:1.24.0"
ISTIO_RESOURCES = {
    "limits": {"cpu": "2", "memory": "1Gi"},
    "requests": {"cpu": "100m", "memory": "128Mi"},
}


def istio(image: str = ISTIO_IMAGE) -> dict[str, Any]:
    """A pod as Istio 1.24's sidecar injector leaves it: istio-init redirects traffic with
    iptables (NET_ADMIN, NET_RAW, as root), istio-proxy runs beside the app."""
    init = {
        "name": "istio-init",
        "image": image,
        "args": [
            *("istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT"),
            *("-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"),
            "--log_output_level=default:info",
        ],
        "resources": copy.deepcopy(ISTIO_RESOURCES),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": False,
            "runAsGroup": 0,
            "runAsNonRoot": False,
            "runAsUser": 0,
        },
    }
    proxy = {
        "name": "istio-proxy",
        "image": image,
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "resources": copy.deepcopy(ISTIO_RESOURCES),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsGroup": 1337,
            "runAsNonRoot": True,
            "runAsUser": 1337,
        },
        "volumeMounts": [
            mount("workload-socket", "/var/run/secrets/workload-spiffe-uds"),
            mount("istiod-ca-cert", "/var/run/secrets/istio"),
            mount("istio-data", "/var/lib/istio/data"),
            mount("istio-envoy", "/etc/istio/proxy"),
            mount("istio-token", "/var/run/secrets/tokens"),
            mount("istio-podinfo", "/etc/istio/pod"),
        ],
    }
    podinfo = {
        "name": "istio-podinfo",
        "downwardAPI": {
            "defaultMode": 420,
            "items": [
                {
                    "path": "labels",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"},
                },
                {
                    "path": "annotations",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"},
                },
            ],
        },
    }
    volumes = [
        empty_dir("workload-socket"),
        empty_dir("istio-envoy", medium="Memory"),
        empty_dir("istio-data"),
        podinfo,
        token("istio-token", audience="istio-ca", seconds=43200),
        config_map("istiod-ca-cert", "istio-ca-root-cert"),
    ]
    web = app("web", resources=limited())
    return pod(name="web-istio", init=[init], app=[web, proxy], volumes=volumes)


LINKERD_INIT_IMAGE = "cr.l5d.io/linkerd/proxy-init:v2.4.1"


def linkerd(image: str = LINKERD_INIT_IMAGE) -> dict[str, Any]:
    """A pod as Linkerd's proxy injector leaves it: linkerd-init (NET_ADMIN, NET_RAW, not root)
    takes the xtables lock in an emptyDir at /run; linkerd-proxy runs beside the app."""
    init = {
        "name": "linkerd-init",
        "image": image,
        "args": [
            *("--incoming-proxy-port", "4143", "--outgoing-proxy-port", "4140"),
            *("--proxy-uid", "2102", "--inbound-ports-to-ignore", "4190,4191,4567,4568"),
            *("--outbound-ports-to-ignore", "4567,4568"),
        ],
        "resources": {
            "limits": {"cpu": "100m", "memory": "20Mi"},
            "requests": {"cpu": "100m", "memory": "20Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsGroup": 65534,
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [mount("linkerd-proxy-init-xtables-lock", "/run")],
    }
    proxy = {
        "name": "linkerd-proxy",
        "image": "cr.l5d.io/linkerd/proxy:stable-2.14.10",
        "resources": {},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 2102,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            mount("linkerd-identity-end-entity", "/var/run/linkerd/identity/end-entity"),
            mount("linkerd-identity-token", "/var/run/secrets/tokens"),
        ],
    }
    volumes = [
        empty_dir("linkerd-proxy-init-xtables-lock"),
        empty_dir("linkerd-identity-end-entity", medium="Memory"),
        token("linkerd-identity-token", audience="identity.l5d.io", seconds=86400),
    ]
    web = app("web", resources=limited())
    return pod(name="web-linkerd", init=[init], app=[proxy, web], volumes=volumes)


VAULT_IMAGE = "hashicorp/vault:1.17.2"
VAULT_AGENT = "echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json"


def vault_agent() -> dict[str, Any]:
    """A pod as Vault's agent injector leaves it: vault-agent-init renders the secrets into a
    memory emptyDir, and vault-agent (an ordinary container, same image) keeps them fresh."""

    def agent(name: str, home: str) -> dict[str, Any]:
        return {
            "name": name,
            "image": VAULT_IMAGE,
            "command": ["/bin/sh", "-ec"],
            "args": [VAULT_AGENT],
            "resources": {
                "limits": {"cpu": "500m", "memory": "128Mi"},
                "requests": {"cpu": "250m", "memory": "64Mi"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": 100,
            },
            "volumeMounts": [mount(home, "/home/vault"), mount("vault-secrets", "/vault/secrets")],
        }

    web = app("web", "example.com/web:1.4", volumeMounts=[mount("vault-secrets", "/vault/secrets")])
    volumes = [
        empty_dir("home-init", medium="Memory"),
        empty_dir("home-sidecar", medium="Memory"),
        empty_dir("vault-secrets", medium="Memory"),
    ]
    init = [agent("vault-agent-init", "home-init")]
    return pod(init=init, app=[web, agent("vault-agent", "home-sidecar")], volumes=volumes)


RELOADER_IMAGE = "quay.io/prometheus-operator/prometheus-config-reloader:v0.77.1"


def prometheus() -> dict[str, Any]:
    """A Prometheus pod of the Prometheus operator: init-config-reloader writes the config once,
    config-reloader (same image) rewrites it on change, Prometheus only reads it."""

    def reloader(name: str, *args: str) -> dict[str, Any]:
        return {
            "name": name,
            "image": RELOADER_IMAGE,
            "command": ["/bin/prometheus-config-reloader"],
            "args": [
                *args,
                "--config-file=/etc/prometheus/config/prometheus.yaml.gz",
                "--config-envsubst-file=/etc/prometheus/config_out/prometheus.env.yaml",
            ],
            "resources": {
                "limits": {"cpu": "10m", "memory": "50Mi"},
                "requests": {"cpu": "10m", "memory": "50Mi"},
            },
            "volumeMounts": [
                mount("config", "/etc/prometheus/config"),
                mount("config-out", "/etc/prometheus/config_out"),
            ],
        }

    server = app(
        "prometheus",
        "quay.io/prometheus/prometheus:v2.54.1",
        resources={"requests": {"memory": "400Mi"}},
        volumeMounts=[mount("config-out", "/etc/prometheus/config_out", read_only=True)],
    )
    volumes = [
        {"name": "config", "secret": {"secretName": "prometheus-k8s", "defaultMode": 420}},
        empty_dir("config-out", medium="Memory"),
    ]
    init = [reloader("init-config-reloader", "--watch-interval=0")]
    containers = [server, reloader("config-reloader", "--listen-address=:8080")]
    return pod(name="prometheus-k8s-0", init=init, app=containers, volumes=volumes)


def compliant() -> dict[str, Any]:
    """What the default configuration admits after mutation: every init container bounded and
    unprivileged; the app containers, volumes and mounts left for initgate to complete."""
    wait = shell(
        "wait-for-db",
        "for i in $(seq 1 30); do nc -z db 5432 && exit 0; sleep 2; done; exit 1",
    )
    fetch = shell(
        "fetch-model",
        "wget -q -O /models/model.bin https://models.example.com/model.bin",
        mounts=[mount("models", "/models"), mount("scratch", "/tmp")],
    )
    server = app(
        "server",
        "example.com/server:1.0",
        volumeMounts=[mount("models", "/models"), mount("cache", "/cache")],
    )
    sidecar = app("metrics", "example.com/exporter:0.9")
    volumes = [
        empty_dir("models"),
        empty_dir("scratch", medium="Memory"),
        empty_dir("cache"),
        SERVICE_ACCOUNT,
    ]
    for container in (wait, fetch, server, sidecar):
        container.setdefault("volumeMounts", []).append(dict(TOKEN_MOUNT))
    return pod(init=[wait, fetch], app=[server, sidecar], volumes=copy.deepcopy(volumes))


REALISTIC = {
    "model-download": model_download,
    "docs-wait-for-services": docs_wait_for_services,
    "wait-for-database": wait_for_database,
    "migration": migration,
    "config-validation": config_validation,
    "rendered-config": rendered_config,
    "permissions": permissions,
    "seeded-claim": seeded_claim,
    "log-sidecar": log_sidecar,
    "metrics-sidecar": metrics_sidecar,
    "privileged-sysctl": privileged_sysctl,
    "istio": istio,
    "linkerd": linkerd,
    "vault-agent": vault_agent,
    "prometheus": prometheus,
    "compliant": compliant,
}
"""Every realistic pod by name, for tests that run them all."""
