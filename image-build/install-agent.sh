#!/bin/sh
# Install the agent into the image being built: a venv in /opt/roomagent with the project's wheel and
# the pinned dependencies of requirements.lock. Runs inside the target root (mkosi postinst, pi-gen
# chroot step) with network access to PyPI; called by both image recipes.
set -eu

dist=/usr/share/roomagent/dist
venv=/opt/roomagent

python3 -m venv "$venv"
# The wheel's base dependencies are the servers'; the room agent needs its [room] extra (Qt, VLC, udev).
set -- "$dist"/roomagent-*.whl
# --only-binary: no compiler in the image and no source builds whose result depends on the build host.
# --constraint: every dependency at the version the project was tested with (requirements.lock).
"$venv/bin/pip" install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
    --constraint "$dist/requirements.lock" "$1[room]"
"$venv/bin/pip" check
# Operators type `roomagent doctor`, not a venv path.
ln -sf "$venv/bin/roomagent" /usr/local/bin/roomagent
"$venv/bin/roomagent" --version
