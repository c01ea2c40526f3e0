"""The fleet dashboard: a live web view of every room for facility operators (``roomagent fleet``).

It reads what rooms already publish over MQTT (retained ``availability`` and ``state``, and ``event``;
DESIGN.md §3.2) and commands them through the normal command contract. It runs on a server without Qt:
nothing in this package imports PySide6, pyudev or VLC (tests/fleet/test_imports.py checks).
"""
