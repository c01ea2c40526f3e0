#!/bin/sh
# Install the agent into the image being built: a venv in /opt/roomagent with the project's wheel and
# the pinned dependencies of requirements.lock. Runs inside the target root (mkosi postinst, pi-gen
# chroot step) with network access to PyPI; called by both image recipes.
set -eu

dist=/usr/share/roomagent/dist
venv=/opt/roomagent

python3 -m venv "$venv"
wheel=$(ls "$dist"/roomagent-*.whl)
# A room needs the wheel's "room" extra (Qt, MQTT, udev, VLC) when it declares one; a wheel without
# extras carries everything in its base dependencies.
spec=$wheel
if python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); m = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]; sys.exit(0 if "Provides-Extra: room" in z.read(m).decode().splitlines() else 1)' "$wheel"; then
    spec="${wheel}[room]"
fi
# --only-binary: no compiler in the image and no source builds whose result depends on the build host.
# --constraint: every dependency at the version the project was tested with (requirements.lock).
"$venv/bin/pip" install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
    --constraint "$dist/requirements.lock" "$spec"
"$venv/bin/pip" check
# Operators type `roomagent doctor`, not a venv path.
ln -sf "$venv/bin/roomagent" /usr/local/bin/roomagent
"$venv/bin/roomagent" --version
