#!/usr/bin/env bash
# runtime-env.sh: the Python environment the image ships, built the same way by the Dockerfile
# and by the test that imports what `serve` and `audit` need inside it
# (tests/image/test_runtime_env.py). Run from the project's root, with PYTHON a Python that has pip.
#
#   runtime-env.sh deps VENV          the locked dependencies (requirements.lock, by hash, wheels
#                                     only), less what initgate never runs (see LEFT_OUT)
#   runtime-env.sh project VENV       initgate, as a wheel built by the locked build backend
#                                     (requirements-build.lock), then all compiled to bytecode
#   runtime-env.sh sbom VENV FILE     a CycloneDX JSON SBOM of VENV, by cyclonedx-py
#                                     (requirements-sbom.lock)
#
# The build backend and the SBOM generator run from venvs of their own, in a temporary folder that
# is removed at the end: nothing of them reaches VENV. The dependencies and the project are two
# steps, so that the image's dependency layer stays cached while only the code changes.
set -euo pipefail
PYTHON=${PYTHON:-python3}

# The asyncio half of the `kubernetes` client (kubernetes/aio, 68 MB with its bytecode) and the
# packages only it needs: the audit imports the synchronous client only, and the webhook no client
# at all. The test of the runtime environment checks that the lock needs each of them through
# this list or kubernetes alone.
LEFT_OUT=(aiohttp aiohttp-retry aiohappyeyeballs aiosignal attrs frozenlist multidict propcache yarl)

TOOLS=$(mktemp -d)
trap 'rm -rf "$TOOLS"' EXIT

tool() {  # tool LOCK: the Python of a venv holding LOCK, in $TOOLS
  local env=$TOOLS/${1%.lock}
  "$PYTHON" -m venv --without-pip "$env"
  "$PYTHON" -m pip --python "$env/bin/python" install --quiet --require-hashes \
    --only-binary=:all: --no-deps -r "$1" >&2
  echo "$env/bin/python"
}

site_packages() {
  "$1/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))'
}

deps() {
  local venv=$1 site
  "$PYTHON" -m venv --without-pip "$venv"
  "$PYTHON" -m pip --python "$venv/bin/python" install --quiet --require-hashes \
    --only-binary=:all: --no-deps -r requirements.lock
  "$PYTHON" -m pip --python "$venv/bin/python" uninstall --quiet --yes "${LEFT_OUT[@]}"
  site=$(site_packages "$venv")
  rm -r "$site/kubernetes/aio"
  # Debug information is not code: uvloop's alone is 11 of its 13 MB. Only the debug sections go,
  # the symbols Python loads the extensions by stay.
  find "$site" -name '*.so' -exec strip --strip-debug {} +
}

project() {
  local venv=$1 build
  build=$(tool requirements-build.lock)
  # Without build isolation: nothing is downloaded here, the backend is the locked one.
  "$PYTHON" -m pip --python "$build" wheel --quiet --no-deps --no-build-isolation \
    --wheel-dir "$TOOLS/wheels" .
  "$PYTHON" -m pip --python "$venv/bin/python" install --quiet --no-deps "$TOOLS"/wheels/initgate-*.whl
  # Bytecode for every module, written once here: the image's root filesystem is read-only, so
  # without it each process would compile what it imports at every start (the audit's client is
  # 30 MB of Python).
  "$venv/bin/python" -m compileall -q "$(site_packages "$venv")"
}

sbom() {
  local venv=$1 out=$2
  mkdir -p "$(dirname "$out")"
  "$(tool requirements-sbom.lock)" -m cyclonedx_py environment --output-reproducible --of JSON \
    -o "$out" "$venv/bin/python"
}

"$@"
