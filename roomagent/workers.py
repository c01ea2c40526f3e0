"""The room's worker threads: one for the directory, two for meeting-server HTTP (BBB's join redirects
and ``getJoinUrl``, the host probes). What they find comes back to the Qt thread as core events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, Signal, Slot

from roomagent.core import effects as fx
from roomagent.core import events as ev
from roomagent.core.state import ErrorKind
from roomagent.directory.client import (
    BadResponse,
    CodeNotFound,
    DirectoryClient,
    DirectoryError,
    DirectoryUnavailable,
    RateLimited,
)
from roomagent.meeting.reachability import probe_host

log = logging.getLogger("roomagent")


def redeem_event(client: DirectoryClient, attempt: int, code: str) -> ev.Event:
    """Run one redemption (in a worker thread) and turn its outcome into an event."""
    try:
        ticket = client.redeem(code)
    except CodeNotFound:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.CODE_NOT_FOUND)
    except RateLimited as exc:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.RATE_LIMITED, retry_after_s=exc.retry_after)
    except DirectoryUnavailable as exc:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.DIRECTORY_UNAVAILABLE, detail=str(exc))
    except (BadResponse, DirectoryError) as exc:
        return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.DIRECTORY_BAD_RESPONSE, detail=str(exc))
    return ev.CodeRedeemed(attempt=attempt, join_url=ticket.join_url)


def probe_event(effect: fx.ProbeHost) -> ev.Event:
    """Run one host probe (in a worker thread) and turn its outcome into an event."""
    try:
        reachable, detail = probe_host(effect.url)
    except Exception as exc:  # a bug must not end the probing: the core waits for this answer
        log.exception("probing the meeting host failed unexpectedly")
        reachable, detail = False, repr(exc)
    return ev.HostProbed(reachable=reachable, detail=detail, watch=effect.watch)


class RoomWorkers(QObject):
    """The thread pools, the directory client they share, and the hand-off of their events to ``deliver``.

    ``directory`` builds the directory client; it is called in the worker thread, since creating an
    httpx client (TLS context, CA bundle) costs ~0.1 s that the keypad should not wait for.
    """

    #: Worker threads hand events to the Qt thread through this queued signal.
    _event_from_worker = Signal(object)

    def __init__(self, directory: Callable[[], DirectoryClient], deliver: Callable[[ev.Event], None]) -> None:
        super().__init__()
        self._directory_factory = directory
        self._deliver = deliver
        self._directory: DirectoryClient | None = None
        self._pool: ThreadPoolExecutor | None = None
        #: Meeting-server HTTP, handed to the meeting adapters; never waits behind the directory.
        self.net: ThreadPoolExecutor | None = None
        self._stopped = False

    @property
    def started(self) -> bool:
        """Whether :meth:`start` ran."""
        return self._pool is not None

    def start(self) -> None:
        """Start the pools and build the directory client ahead of the first code."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="directory")
        self.net = ThreadPoolExecutor(max_workers=2, thread_name_prefix="meeting")
        self._event_from_worker.connect(self._on_event)
        self._pool.submit(self._directory_client)

    def redeem(self, attempt: int, code: str) -> None:
        """Redeem ``code`` in the directory's thread; answered with CodeRedeemed or RedeemFailed."""
        assert self._pool is not None
        self._hand_back(self._pool.submit(self._redeem, attempt, code))

    def probe_host(self, effect: fx.ProbeHost) -> None:
        """Probe the meeting host in a meeting thread; answered with HostProbed (not once stopped)."""
        if self._stopped or self.net is None:
            log.debug("host probe not run: the room is not running")
            return
        self._hand_back(self.net.submit(probe_event, effect))

    def _hand_back(self, future: Future) -> None:
        future.add_done_callback(lambda f: self._event_from_worker.emit(f.result()))

    @Slot(object)
    def _on_event(self, event: ev.Event) -> None:
        self._deliver(event)

    def _directory_client(self) -> DirectoryClient:
        """The directory client; only ever called in the worker thread."""
        if self._directory is None:
            self._directory = self._directory_factory()
        return self._directory

    def _redeem(self, attempt: int, code: str) -> ev.Event:
        try:
            return redeem_event(self._directory_client(), attempt, code)
        except Exception as exc:  # a bug must not leave the panel spinning in "redeeming" forever
            log.exception("redeeming a code failed unexpectedly")
            return ev.RedeemFailed(attempt=attempt, kind=ErrorKind.DIRECTORY_UNAVAILABLE, detail=repr(exc))

    def stop(self) -> None:
        """Let running jobs finish, drop queued ones, close the directory client."""
        self._stopped = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self.net is not None:
            self.net.shutdown(wait=True, cancel_futures=True)
        if self._directory is not None:
            self._directory.close()
