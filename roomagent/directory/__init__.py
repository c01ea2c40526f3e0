"""The directory edge: the HTTP client the agent redeems codes with, and the reference server.

``roomagent.directory.client`` is what the agent imports; ``roomagent.directory.server`` is only loaded
by ``roomagent directory``, the demo and the tests (it pulls in FastAPI and uvicorn).
"""
