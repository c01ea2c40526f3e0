"""The Chromium screen engine: Debian's Chromium behind the screen-session interface (see session.py)."""
