"""Signed, short-lived, read-only links to one plan's folder, for browsers.

A browser cannot add an ``Authorization`` header to a link it opens, and the bearer token
must never appear in a URL. So the web page asks the API (with its token) for a link that
names one plan and an expiry, signed with the server's secret; anyone holding the link can
read that plan's files until it expires, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
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


def _signature(secret: bytes, plan_id: str, expires: int) -> str:
    mac = hmac.new(secret, f"{plan_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_link(secret: bytes, plan_id: str, ttl_s: int, now: float | None = None) -> tuple[str, int]:
    """Return ``(link, expires)`` for ``plan_id``; ``expires`` is a Unix time in seconds."""
    expires = int(now if now is not None else time.time()) + ttl_s
    return f"{plan_id}.{expires}.{_signature(secret, plan_id, expires)}", expires


_EXPIRES = re.compile(r"[0-9]{1,12}")
"""A Unix time in seconds, ASCII digits only: ``int()`` of thousands of digits, or of
non-ASCII digits that ``str.isdigit`` accepts, would raise instead of refusing."""
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")
"""An unpadded URL-safe base64 SHA-256; ``hmac.compare_digest`` raises on non-ASCII text."""


def verify_link(secret: bytes, link: str, now: float | None = None) -> str | None:
    """Return the plan id a valid, unexpired link names, else ``None`` (never raises)."""
    parts = link.split(".")
    if len(parts) != 3:
        return None
    plan_id, expires_text, signature = parts
    if not _EXPIRES.fullmatch(expires_text) or not _SIGNATURE.fullmatch(signature):
        return None
    expires = int(expires_text)
    if not hmac.compare_digest(signature, _signature(secret, plan_id, expires)):
        return None
    if expires < (now if now is not None else time.time()):
        return None
    return plan_id
