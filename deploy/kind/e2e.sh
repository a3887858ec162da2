#!/usr/bin/env bash
# End-to-end test of initgate in a throwaway kind cluster, for CI runners with a Docker engine:
#   1. create the cluster (deploy/kind/cluster.yaml),
#   2. build the image from this tree and load it into the nodes,
#   3. install the chart with certs.mode=helm (no cert-manager needed) and wait for readiness,
#   4. `helm test` (an AdmissionReview round trip through the Service, over verified TLS),
#   5. a `helm upgrade`, which must keep the certificate,
#   6. the e2e tests (pytest -m e2e tests/e2e) against the cluster,
# and delete the cluster at exit, whatever happened (KEEP_CLUSTER=1 keeps it for a look).
#
# Needs docker and kind on PATH, and `make setup` done (the venv with pytest); helm and kubectl
# come from .tools/bin (scripts/install-tools.sh installs them when missing).
# Environment: KIND_CLUSTER (default initgate-e2e), KIND_NODE_IMAGE (e.g. kindest/node:v1.30.x
# to test the oldest supported Kubernetes; default: the kind release's own), KEEP_CLUSTER.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cluster=${KIND_CLUSTER:-initgate-e2e}
namespace=initgate
release=initgate
repository=initgate
tag=e2e
export PATH="$root/.tools/bin:$root/.venv/bin:$PATH"

say() { printf '\n== e2e: %s\n' "$*" >&2; }

for tool in docker kind; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e: $tool is required on PATH" >&2
    exit 2
  fi
done
if [ ! -x "$root/.tools/bin/helm" ] || [ ! -x "$root/.tools/bin/kubectl" ]; then
  "$root/scripts/install-tools.sh"
fi
if [ ! -x "$root/.venv/bin/pytest" ]; then
  echo "e2e: run 'make setup' first (the tests run from the project's venv)" >&2
  exit 2
fi

work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -s "$KUBECONFIG" ]; then
    say "failed ($status): what the cluster says"
    kubectl --namespace "$namespace" get all,events --output wide || true
    kubectl --namespace "$namespace" logs --selector app.kubernetes.io/component=webhook \
      --prefix --tail 50 || true
  fi
  if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
    say "kept cluster $cluster: export KUBECONFIG=$KUBECONFIG; kind delete cluster --name $cluster"
  else
    kind delete cluster --name "$cluster" || true
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

say "cluster $cluster"
create=(kind create cluster --name "$cluster" --config "$root/deploy/kind/cluster.yaml"
  --kubeconfig "$KUBECONFIG" --wait 180s)
if [ -n "${KIND_NODE_IMAGE:-}" ]; then
  create+=(--image "$KIND_NODE_IMAGE")
fi
"${create[@]}"

say "image $repository:$tag"
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
docker build --tag "$repository:$tag" --build-arg "REVISION=$revision" "$root"
kind load docker-image "$repository:$tag" --name "$cluster"

install=(--namespace "$namespace" --set certs.mode=helm --set "image.repository=$repository"
  --set "image.tag=$tag" --set image.pullPolicy=Never --wait --timeout 5m)
say "helm install (certs.mode=helm)"
helm install "$release" "$root/charts/initgate" --create-namespace "${install[@]}"
kubectl --namespace "$namespace" rollout status "deployment/$release" --timeout 2m

say "helm test"
helm test "$release" --namespace "$namespace" --timeout 2m --logs

say "helm upgrade keeps the certificate"
secret() {
  kubectl --namespace "$namespace" get secret "$release-tls" --output 'jsonpath={.data.tls\.crt}'
}
before=$(secret)
helm upgrade "$release" "$root/charts/initgate" "${install[@]}"
if [ "$(secret)" != "$before" ]; then
  echo "e2e: helm upgrade replaced a certificate that was far from expiry" >&2
  exit 1
fi
helm test "$release" --namespace "$namespace" --timeout 2m

say "pytest -m e2e"
cd "$root"
INITGATE_E2E_REQUIRED=1 pytest -m e2e tests/e2e -v -ra -p no:cacheprovider
