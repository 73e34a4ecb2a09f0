#!/usr/bin/env bash
# Builds the image of dist/container/Containerfile around one static binary,
# with podman (or buildah): the build context holds that binary alone.
# usage: build-image.sh STATIC-BINARY IMAGE-NAME
set -euo pipefail
binary=$1 image=$2
here=$(cd "$(dirname "$0")" && pwd)
context=$(mktemp -d "${TMPDIR:-/tmp}/tcpproxy-image.XXXXXX")
trap 'rm -rf "$context"' EXIT
install -m 0755 "$binary" "$context/tcpproxy"
if command -v podman >/dev/null 2>&1; then
  podman build -q -f "$here/Containerfile" -t "$image" "$context"
elif command -v buildah >/dev/null 2>&1; then
  buildah bud -q -f "$here/Containerfile" -t "$image" "$context"
else
  echo "build-image: neither podman nor buildah is installed" >&2
  exit 1
fi
