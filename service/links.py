"""Signed, short-lived, read-only links to one plan's folder, for browsers.

A browser cannot add an ``Authorization`` header to a link it opens, and the bearer token
must never appear in a URL. So the web page asks the API (with its token) for a link that
names one plan, the token that asked for it and an expiry, signed with the server's secret;
anyone holding the link can read that plan's files until it expires or that token is revoked,
and nothing else. A link that is malformed, forged, expired or whose token was revoked is
answered alike, 404, so a link tells nothing about why it no longer opens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path


def load_secret(path: Path) -> bytes:
    """Read the server's signing secret, creating it (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + f".tmp-{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        temporary.replace(path)
    return path.read_bytes()


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a valid link names: one plan, and the token that made it (which must stay active)."""

    plan_id: str
    token_id: str


def _signature(secret: bytes, plan_id: str, token_id: str, expires: int) -> str:
    mac = hmac.new(secret, f"{plan_id}.{token_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_link(
    secret: bytes, plan_id: str, token_id: str, ttl_s: int, now: float | None = None
) -> tuple[str, int]:
    """Return ``(link, expires)`` for ``plan_id``; ``expires`` is a Unix time in seconds.

    Parameters
    ----------
    secret
        The server's signing secret.
    plan_id, token_id
        The plan the link opens and the token that asked for it (ids without dots).
    ttl_s
        Lifetime in seconds.
    now
        The current Unix time (tests).

    Returns
    -------
    tuple
        The link, ``plan.token.expires.signature``, and its expiry.
    """
    if not (_ID.fullmatch(plan_id) and _ID.fullmatch(token_id)):
        raise ValueError(f"ids in a link must match {_ID.pattern}")
    expires = int(now if now is not None else time.time()) + ttl_s
    signature = _signature(secret, plan_id, token_id, expires)
    return f"{plan_id}.{token_id}.{expires}.{signature}", expires


_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
"""A plan or token id as the service makes them (never a dot, the link's separator)."""
_EXPIRES = re.compile(r"[0-9]{1,12}")
"""A Unix time in seconds, ASCII digits only: ``int()`` of thousands of digits, or of
non-ASCII digits that ``str.isdigit`` accepts, would raise instead of refusing."""
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")
"""An unpadded URL-safe base64 SHA-256; ``hmac.compare_digest`` raises on non-ASCII text."""


def verify_link(secret: bytes, link: str, now: float | None = None) -> LinkClaim | None:
    """Return what a genuine, unexpired link names, else ``None`` (never raises).

    The caller must still check that the claim's token is active (:func:`service.tokens.
    token_is_active`): a link dies with its token.
    """
    parts = link.split(".")
    if len(parts) != 4:
        return None
    plan_id, token_id, expires_text, signature = parts
    if not (
        _ID.fullmatch(plan_id)
        and _ID.fullmatch(token_id)
        and _EXPIRES.fullmatch(expires_text)
        and _SIGNATURE.fullmatch(signature)
    ):
        return None
    expires = int(expires_text)
    if not hmac.compare_digest(signature, _signature(secret, plan_id, token_id, expires)):
        return None
    if expires < (now if now is not None else time.time()):
        return None
    return LinkClaim(plan_id, token_id)
