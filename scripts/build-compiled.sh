#!/usr/bin/env bash
# The request path compiled with mypyc, in a copy of the working tree
# (build/compiled): the extensions sit beside the sources there, and Python imports an extension
# before a source file of the same name. The working tree itself stays pure Python, so an edit is
# never hidden behind a stale extension. Built as the image builds it: the Dockerfile's command,
# run by a venv of the hash-pinned runtime dependencies and build tools and nothing else
# (.tools/build-venv, which `make compiled` sets up), so that what mypyc needs to type-check the
# compiled modules and the image lacks fails here too.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_PYTHON=${BUILD_PYTHON:-.tools/build-venv/bin/python}
OUT=build/compiled

if ! command -v "${CC:-cc}" >/dev/null; then
  echo "build-compiled: no C compiler (${CC:-cc}); mypyc needs one (Debian: apt-get install gcc)" >&2
  exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
# Tracked and new files alike (not yet committed work is what gets tested), without what is ignored.
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' path; do [[ -e $path ]] && printf '%s\0' "$path"; done \
  | xargs -0 cp --parents --target-directory="$OUT"
ROOT=$(pwd)
cd "$OUT"
# The wheel, built by the Dockerfile's own command; its extensions are then put beside the
# sources of the copy, so that the suites test what the wheel carries.
INITGATE_COMPILE=1 "$ROOT/.venv/bin/python" -m pip --quiet --python "$ROOT/$BUILD_PYTHON" \
  wheel --no-deps --no-build-isolation --wheel-dir wheel .
"$ROOT/.venv/bin/python" - wheel/initgate-*.whl <<'PY'
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.endswith(".so"):
            wheel.extract(name, ".")
PY
echo "compiled: $(find . -name '*.so' | wc -l) extensions from $(basename wheel/*.whl) in $OUT"
