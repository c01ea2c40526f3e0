"""A room's directory secret (``[directory] secret_file``): read and checked the same way by the profile
validation and by the directory client (which re-reads it for each redemption, so a rotated file takes
effect without restarting the agent)."""

from __future__ import annotations

from pathlib import Path

#: Shortest secret accepted: `roomagent directory room add` makes 43 characters; anything this short was
#: typed by hand or cut off.
MIN_SECRET_LENGTH = 16
#: Characters a secret may hold: it travels as an HTTP header value (``Authorization: Bearer <secret>``).
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")


def read_secret(path: str | Path) -> str:
    """The secret in ``path`` without its trailing newline; ``ValueError`` saying what is wrong otherwise."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ValueError(f"file {path} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise ValueError(f"file {path} cannot be read ({exc.strerror})") from None
    try:
        secret = raw.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError(f"file {path} does not hold a secret (not ASCII text)") from None
    if not secret.strip():
        raise ValueError(f"file {path} is empty")
    if not set(secret) <= _ALLOWED:
        raise ValueError(f"file {path}: the secret must be one line of letters, digits and -._~+/= only")
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"file {path}: the secret is shorter than {MIN_SECRET_LENGTH} characters")
    return secret
