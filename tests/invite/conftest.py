"""Fixtures of the invite tests: one :class:`~tests.invite.world.World` per module, a private mosquitto."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.control.broker import Mosquitto
from tests.invite.world import World


@pytest.fixture(scope="session", autouse=True)
def _no_invite_env() -> Iterator[None]:
    # Settings are built in code here; an operator's ROOMAGENT_INVITE_* must not leak into them.
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.upper().startswith(("ROOMAGENT_INVITE_", "ROOMAGENT_DIRECTORY_")):
                patch.delenv(key)
        yield


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(broker: Mosquitto) -> Iterator[World]:
    w = World(broker.url)
    yield w
    w.stop()
