"""Room codes: the alphabet shared by the directory (which mints them) and the panel (which types them).

Pure functions, no I/O. A code is nine symbols shown as ``XXX-XXX-XXX``. The alphabet leaves out the
look-alikes 0/O and 1/I/L so a code read off a projector or dictated over the phone cannot be mistyped.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GROUP = 3
GROUPS = 3
LENGTH = GROUP * GROUPS
_SEPARATORS = frozenset("- \t")


def generate_code() -> str:
    """Return a new random code from ``secrets`` in its display form ``XXX-XXX-XXX``."""
    return format_code("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def format_code(symbols: str) -> str:
    """Insert dashes into up to nine symbols: ``K7M4Q`` -> ``K7M-4Q`` (used while typing too)."""
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def strip_code(text: str) -> str:
    """Upper-case ``text`` and drop dashes and white space; no validation."""
    return "".join(ch for ch in text.upper() if ch not in _SEPARATORS)


def normalize_code(text: str) -> str | None:
    """Return the canonical ``XXX-XXX-XXX`` form of a typed code, or ``None`` when it cannot be one.

    Input is case-insensitive, dashes and spaces are optional.
    """
    symbols = strip_code(text)
    if len(symbols) != LENGTH or any(ch not in ALPHABET for ch in symbols):
        return None
    return format_code(symbols)
