"""Host allow-lists: which meeting servers may reach a lecture-hall projector.

Shared by the directory (which join URLs it accepts) and the agent (which hosts its windows may open).
Pure functions, no I/O.

Patterns are host names, compared case-insensitively. ``*.example.org`` matches every sub-domain
(``bbb.example.org``, ``a.b.example.org``) but not ``example.org`` itself; list both when both are meant.
A bare ``*`` is refused by :func:`validate_pattern`: an appliance must never open any URL it is handed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _clean(host: str) -> str:
    return host.strip().lower().rstrip(".")


def validate_pattern(pattern: str) -> str:
    """Return the normalised pattern or raise ``ValueError`` explaining what is wrong with it."""
    p = _clean(pattern)
    if not p:
        raise ValueError("empty host pattern")
    body = p[2:] if p.startswith("*.") else p
    if "*" in body:
        raise ValueError(f"{pattern!r}: only a leading '*.' wildcard is allowed")
    if p.startswith("*.") and "." not in body and body != "localhost":
        raise ValueError(f"{pattern!r}: a wildcard needs at least two labels after '*.'")
    if not all(_LABEL.match(label) for label in body.split(".")) and not _is_ip(body):
        raise ValueError(f"{pattern!r} is not a host name")
    return p


def _is_ip(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(x.isdigit() and int(x) < 256 for x in parts)


def host_allowed(host: str | None, patterns: list[str] | tuple[str, ...]) -> bool:
    """True when ``host`` matches one of ``patterns`` (exact name or ``*.`` sub-domain wildcard)."""
    if not host:
        return False
    h = _clean(host)
    for raw in patterns:
        p = _clean(raw)
        if p.startswith("*."):
            if h.endswith(p[1:]) and len(h) > len(p) - 1:
                return True
        elif h == p:
            return True
    return False


def url_host(url: str) -> str | None:
    """The host of an http(s) URL, or ``None`` for any other scheme or a URL without a host."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not host:
        return None
    return host


def url_allowed(url: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """True when ``url`` is http(s) and its host is on the allow-list."""
    return host_allowed(url_host(url), patterns)


def redact_url(url: str) -> str:
    """``url`` without query and fragment, for logs: join URLs carry checksums, session tokens and JWTs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    if not parts.scheme or not parts.netloc:
        return parts.scheme + ":…" if parts.scheme else "(no URL)"
    hidden = "?…" if parts.query or parts.fragment else ""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}{hidden}"
