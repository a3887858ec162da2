#!/usr/bin/env bash
# The request path compiled with mypyc, as the image builds it, in a copy of the working tree
# (build/compiled): the extensions sit beside the sources there, and Python imports an extension
# before a source file of the same name. The working tree itself stays pure Python, so an edit is
# never hidden behind a stale extension. As in the image: the build tools of the hash-pinned
# requirements-build.lock, run by an interpreter that has the runtime dependencies of
# requirements.lock and nothing else (`make compiled` sets up both), so that what mypyc needs to
# type-check the compiled modules and the image lacks fails here too.
set -euo pipefail
cd "$(dirname "$0")/.."
COMPILER_PYTHON=${COMPILER_PYTHON:-.tools/image-venv/bin/python}
TOOLS=.tools/build
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
cd "$OUT"
PYTHONPATH="$(cd ../.. && pwd)/$TOOLS" INITGATE_COMPILE=1 "../../$COMPILER_PYTHON" setup.py --quiet \
  build_ext --inplace
echo "compiled: $(find policies webhook -name '*.so' | wc -l) extensions in $OUT"
