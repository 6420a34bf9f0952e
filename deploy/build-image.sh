#!/bin/sh
# Build the randnum container image from this checkout, as a user would:
#
#   deploy/build-image.sh [TAG]
#
# 1. a wheelhouse: randnum and every dependency as wheels, made by
#    deploy/build-wheelhouse.sh with $PYTHON (default python3), so they
#    must suit the image's Python (3.11 for both bases below); or the
#    wheelhouse in $WHEELHOUSE, if set (built elsewhere, e.g. for a machine
#    with no network);
# 2. the image, from deploy/Containerfile, installing only from that
#    wheelhouse (no network needed during the build), on $BASE if set (the
#    Containerfile's default is docker.io/library/python:3.11-slim; with no
#    registry at hand, deploy/build-debian-base.sh makes a base from Debian's
#    packages).
#
# TAG defaults to localhost/randnum:VERSION.  Extra podman build options go
# in $BUILD_OPTS.  Prints the tag.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$top/randnum/__init__.py")
tag=${1:-localhost/randnum:$version}

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
if [ -n "${WHEELHOUSE:-}" ]; then
  cp -r "$WHEELHOUSE" "$context/wheels"
else
  "$top/deploy/build-wheelhouse.sh" "$context/wheels"
fi
cp "$top/deploy/Containerfile" "$context/Containerfile"

# --format docker: the OCI image format has no HEALTHCHECK.
# shellcheck disable=SC2086
if ! podman build --quiet --format docker \
  ${BASE:+--build-arg "BASE=$BASE"} \
  --build-arg "VERSION=$version" \
  ${BUILD_OPTS:-} \
  --tag "$tag" "$context" >/dev/null; then
  if [ -z "${BASE:-}" ]; then
    echo "$0: the build failed. If no container registry can be reached," \
      "make a base from Debian's packages and build on it:" \
      'BASE=$(deploy/build-debian-base.sh) deploy/build-image.sh' >&2
  fi
  exit 1
fi
echo "$tag"
