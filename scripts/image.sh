#!/bin/sh
# Builds the example image where nothing can be pulled: a base image
# vigil-base FROM scratch holding Debian's static busybox and its applet
# links, then examples/Dockerfile on it as vigil-example, and the shell-free
# example as vigil-shellfree. `make image` runs it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
docker=${DOCKER:-docker}

if [ ! -x bin/vigil ]; then
	CGO_ENABLED=0 ${GO:-go} build -trimpath -ldflags '-s -w' -o bin/vigil ./cmd/vigil
fi
sh scripts/peers.sh

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp .cache/peers/bin/busybox "$ctx/busybox"
$docker build -q -t vigil-base -f examples/base/Dockerfile "$ctx"
$docker build -q -t vigil-example --build-arg BASE=vigil-base -f examples/Dockerfile .
if [ -f examples/shellfree/Dockerfile ]; then
	$docker build -q -t vigil-shellfree -f examples/shellfree/Dockerfile .
fi
for img in vigil-base vigil-example vigil-shellfree; do
	$docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$img"
done
