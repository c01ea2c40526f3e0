"""BigBlueButton API checksums: ``hex(hash(call name + query string + shared secret))``.

bbb-web accepts the algorithms listed in its ``supportedChecksumAlgorithms`` (sha1, sha256, sha384 and
sha512 by default) and recognises which one was used by the checksum's length.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
#: Hex length of each algorithm's digest, which is how bbb-web tells them apart.
_BY_LENGTH = {hashlib.new(name).digest_size * 2: name for name in ALGORITHMS}


def checksum(call: str, query: str, secret: str, algorithm: str = "sha256") -> str:
    """The checksum of ``call`` with the (already encoded) ``query`` string."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    return hashlib.new(algorithm, f"{call}{query}{secret}".encode()).hexdigest()


def signed_query(call: str, params: dict[str, str], secret: str, algorithm: str = "sha256") -> str:
    """``params`` encoded as bbb-web expects them, with ``&checksum=`` appended."""
    query = urlencode(params, quote_via=quote)
    return f"{query}&checksum={checksum(call, query, secret, algorithm)}"


def strip_checksum(raw_query: str) -> tuple[str, str]:
    """Split a raw query string into (the query without ``checksum``, the checksum given)."""
    kept, given = [], ""
    for part in raw_query.split("&") if raw_query else []:
        if part.startswith("checksum="):
            given = part[len("checksum=") :]
        else:
            kept.append(part)
    return "&".join(kept), given


def valid(call: str, raw_query: str, secret: str, algorithms: tuple[str, ...] = ALGORITHMS) -> bool:
    """True when ``raw_query`` carries a correct checksum for ``call`` in one of ``algorithms``."""
    query, given = strip_checksum(raw_query)
    algorithm = _BY_LENGTH.get(len(given))
    if algorithm is None or algorithm not in algorithms:
        return False
    return hmac.compare_digest(checksum(call, query, secret, algorithm), given.lower())
