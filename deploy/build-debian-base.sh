#!/bin/sh
# A base image for deploy/build-image.sh made from Debian's own packages,
# for machines that can reach Debian's archive but no container registry:
#
#   deploy/build-debian-base.sh [TAG]    (as root; needs mmdebstrap, podman)
#   BASE=localhost/randnum-debian-base:bookworm deploy/build-image.sh
#
# Debian bookworm, minimal (no shell tools beyond the essential ones), with
# python3 (3.11), its venv module and the CA certificates.  TAG defaults to
# localhost/randnum-debian-base:bookworm.  Prints the tag.
set -eu
tag=${1:-localhost/randnum-debian-base:bookworm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase \
  --include=python3,python3-venv,ca-certificates \
  bookworm "$work/rootfs.tar" >&2
podman import --quiet \
  --change 'CMD ["/bin/bash"]' \
  --message "Debian bookworm minbase with python3, from mmdebstrap" \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "$tag"
