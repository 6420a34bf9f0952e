#!/bin/sh
# randnum and every dependency as wheels, in DIR:
#
#   deploy/build-wheelhouse.sh DIR
#
# Built from this checkout's package files by $PYTHON (default python3)
# with pip, from PyPI: so they suit that Python's version and this
# machine's platform.  Install from it with no network:
#
#   pip install --no-index --find-links DIR randnum
#
# deploy/build-image.sh builds the image from such a wheelhouse.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
source=$(mktemp -d)
trap 'rm -rf "$source"' EXIT
# Only what the package is built from (not a virtualenv or build output
# that may lie in the checkout).
(cd "$top" && cp -r setup.cfg pyproject.toml README.md LICENSE MANIFEST.in randnum twisted "$source")
find "$source" \( -name __pycache__ -o -name dropin.cache \) -prune -exec rm -rf {} +
"$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$1" "$source" >&2
