"""Is the meeting host still there? One cheap probe, run in a worker thread when the core asks for it.

Any HTTP answer counts as reachable (even 404: the host is up); a refused connection, a DNS failure or
a timeout counts as unreachable. The meeting clients reconnect their own websockets through short
blips; the probes are for outages long enough that the pages need to be joined again. When to probe
and how many misses make the host lost is the core's rule (``roomagent.core.reachability``).
"""

from __future__ import annotations

import httpx

#: A probe that takes longer than this counts as a miss.
PROBE_TIMEOUT_S = 3.0


def probe_host(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """``(reachable, detail)`` for one GET of ``url`` (no redirects followed)."""
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return True, f"HTTP {response.status_code}"
