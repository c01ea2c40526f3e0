#!/bin/sh
# Build the Raspberry Pi (arm64) room image with pi-gen at a pinned release tag, as root on a Debian or
# Raspberry Pi OS machine with pi-gen's dependencies (see pi-gen's README: qemu-user-static, debootstrap,
# dosfstools, ...). Outputs go to OUT (default /tmp/roomagent-rpi), never into the repository.
#
# Usage: sudo ROOMAGENT_OPERATOR_PASSWORD=... image-build/build-rpi.sh [OUT]
set -eu

# The pi-gen tag of the Raspberry Pi OS release this image is built like (trixie, arm64).
PI_GEN_REF=${PI_GEN_REF:-2025-12-04-raspios-trixie-arm64}
PI_GEN_URL=https://github.com/RPi-Distro/pi-gen.git

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/roomagent-rpi}
mkdir -p "$out"
"$here/stage.sh" "$out" > /dev/null

if [ ! -d "$out/pi-gen" ]; then
    git clone --depth 1 --branch "$PI_GEN_REF" "$PI_GEN_URL" "$out/pi-gen"
fi
# Only the room image is exported, not Raspberry Pi OS Lite itself (a marker file pi-gen reads).
touch "$out/pi-gen/stage2/SKIP_IMAGES"

ROOMAGENT_STAGE=$out
ROOMAGENT_PIGEN_STAGE=$here/pi-gen/stage-roomagent
export ROOMAGENT_STAGE ROOMAGENT_PIGEN_STAGE
cd "$out/pi-gen"
./build.sh -c "$here/pi-gen/config"
ls -l "$out/pi-gen/deploy"
