#!/bin/sh
# Prepare what both image recipes copy into the root file system, under OUT (outside the repository):
#
#   OUT/overlay/   rootfs-overlay/ with every link resolved (the overlay links to the one copy of each
#                  unit, rule and script in systemd/ and kiosk/), plus usr/share/roomagent/dist/ holding
#                  the project's wheel, requirements.lock and install-agent.sh
#
# The wheel is built from this working tree (`pip wheel . --no-deps`): an image contains exactly the
# commit it was built from, never a download of `main`.
#
# Usage: image-build/stage.sh OUT
set -eu

out=${1:?usage: stage.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-python3}

rm -rf "$out/overlay" "$out/wheel"
mkdir -p "$out/overlay" "$out/wheel"
# -L: copy what the links point at; the images get ordinary files.
cp -RL "$here/rootfs-overlay/." "$out/overlay/"

"$python" -m pip wheel --no-deps --wheel-dir "$out/wheel" "$repo" >&2
dist="$out/overlay/usr/share/roomagent/dist"
mkdir -p "$dist"
cp "$out"/wheel/roomagent-*.whl "$dist/"
cp "$here/requirements.lock" "$here/install-agent.sh" "$dist/"
chmod 0755 "$dist/install-agent.sh" "$out/overlay/usr/libexec/roomagent/firstboot"
echo "$out/overlay"
