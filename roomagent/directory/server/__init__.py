"""The reference directory server ("MediaAuthService"): codes for join URLs, and server discovery.

Entry points: :func:`roomagent.directory.server.app.create_app` (the ASGI app),
:func:`roomagent.directory.server.main.run_in_thread` (tests, demo) and
:func:`roomagent.directory.server.main.serve_from_cli` (``roomagent directory``).
"""
