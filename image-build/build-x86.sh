#!/bin/sh
# Build the x86-64 room image with mkosi 14 (Debian 12: `apt-get install mkosi debootstrap
# systemd-container dosfstools`), as root. Outputs go to OUT (default /tmp/roomagent-image), never into
# the repository.
#
# Usage: sudo image-build/build-x86.sh [OUT]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/roomagent-image}
mkdir -p "$out/mkosi.output" "$out/mkosi.cache"
overlay=$("$here/stage.sh" "$out")

cd "$here/mkosi"
mkosi --force \
    --extra-tree "$overlay" \
    --cache "$out/mkosi.cache" \
    --output "$out/mkosi.output/roomagent-x86-64.raw" \
    build
ls -l "$out/mkosi.output"
