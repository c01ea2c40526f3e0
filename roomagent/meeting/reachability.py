"""Is the meeting host still there? A cheap probe run in a worker thread while the room is in a meeting.

Any HTTP answer counts as reachable (even 404: the host is up); a refused connection, a DNS failure or
a timeout counts as unreachable. The meeting clients reconnect their own websockets through short
blips; this probe is for outages long enough that the pages need to be joined again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

#: Every this often while in a meeting; two misses in a row make the host "lost" (~10 s), which is
#: longer than the blips the clients ride out themselves and short enough for a teacher to notice.
HOST_PROBE_S = 5.0
MISSES_BEFORE_LOST = 2
#: A probe that takes longer than this counts as a miss.
PROBE_TIMEOUT_S = 3.0


def host_root(join_url: str) -> str:
    """``scheme://host:port/`` of a join link."""
    parts = urlsplit(join_url)
    return f"{parts.scheme}://{parts.netloc}/"


def probe_host(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """``(reachable, detail)`` for one GET of ``url`` (no redirects followed)."""
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return True, f"HTTP {response.status_code}"
