# Two entry points (see README): `make demo` and `make test`. Both set up what they need first.
# Setup is idempotent: apt runs only for missing packages, pip only when pyproject.toml changed.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Two pytest workers (pytest-xdist), one test file each at a time: module-scoped servers stay in one worker.
TEST_WORKERS ?= 2
APT_PACKAGES := python3 python3-venv libglib2.0-0 libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 \
	libfreetype6 libfontconfig1 fonts-dejavu-core libdbus-1-3 libnss3 libnspr4 libxcomposite1 \
	libxdamage1 libxrandr2 libxtst6 libasound2 libxkbfile1 libxcb-cursor0 libxcb-icccm4 \
	libxcb-keysyms1 libxcb-shape0 xvfb x11-xserver-utils xdotool mosquitto mosquitto-clients \
	libvlc5 vlc-plugin-base vlc-plugin-video-output ffmpeg redis-server imagemagick openssl chromium \
	systemd shellcheck nodejs npm sway grim wtype

.PHONY: setup system-packages venv test demo screenshots bench clean plugin

setup: system-packages venv

# python3/python3-venv are skipped when a working python3 with venv is already on PATH (e.g. pyenv).
system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  case $$p in python3|python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null && continue;; esac; \
	  case $$p in nodejs|npm) command -v $$p >/dev/null && continue;; esac; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "setup: system packages present"; fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[room,test]'
	@touch $@

test: setup plugin
	$(VENV)/bin/ruff check roomagent tests
	QTWEBENGINE_DISABLE_SANDBOX=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The BigBlueButton plugin (README "The BigBlueButton plugin"): bbb-plugin/dist/, from the lock file.
plugin: system-packages
	cd bbb-plugin && npm ci --no-audit --no-fund && npm run build

demo: setup plugin
	QTWEBENGINE_DISABLE_SANDBOX=1 $(VENV)/bin/roomagent demo $(DEMO_ARGS)

# The README's screenshots: the real agent under Xvfb with two monitors, driven with xdotool.
screenshots: setup plugin
	ROOMAGENT_SCREENSHOTS=$(CURDIR)/kiosk/screenshots QTWEBENGINE_DISABLE_SANDBOX=1 $(PY) -m pytest -q tests/e2e tests/plugin tests/fleet/test_browser.py tests/fleet/test_history_browser.py tests/fleet/test_roles_browser.py

bench: setup
	QTWEBENGINE_DISABLE_SANDBOX=1 $(PY) -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info bbb-plugin/node_modules bbb-plugin/dist
