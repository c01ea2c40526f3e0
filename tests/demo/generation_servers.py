"""Fake BigBlueButton servers of each upstream generation (``roomagent/demo/bbb_generations.py``).

``bbb_of(request, generation)`` hands out the process-wide fake BBB reproducing ``generation``, with
an empty log; like the fixtures in ``fixtures.py`` it starts on first use and stops when pytest ends.
"""

from __future__ import annotations

import pytest

from roomagent.demo.bbb_generations import GENERATIONS, BbbGeneration
from tests.demo.fixtures import BbbServer, _serve_bbb, _shared

#: One stash key per generation name (pytest's config stash, not a module-level registry of servers).
_KEYS = {name: pytest.StashKey[BbbServer]() for name in GENERATIONS}


def bbb_of(request: pytest.FixtureRequest, generation: BbbGeneration) -> BbbServer:
    """The fake BBB of ``generation`` (started once per test process), its log emptied."""
    server = _shared(request, _KEYS[generation.name], _serve_bbb(generation=generation))
    server.reset()
    return server
