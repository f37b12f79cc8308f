"""API tokens: random secrets shown once; the database keeps only their SHA-256.

A token is 256 random bits, so a fast hash is enough: there is nothing to brute-force, unlike
a password. Lookups go by hash, never by comparing secrets.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from service.db import Token, new_id, utcnow

ROLES = ("planner", "viewer")
PREFIX = "bsb_"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: the token's id, name and role."""

    token_id: str
    name: str
    role: str


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(sessions: sessionmaker[Any], role: str, name: str = "") -> str:
    """Create a token and store its hash.

    Parameters
    ----------
    sessions
        Session factory of the service database.
    role
        ``"planner"`` (read and write) or ``"viewer"`` (read only).
    name
        A label to tell tokens apart (who holds it).

    Returns
    -------
    str
        The token. It is not stored and cannot be shown again.

    Raises
    ------
    ValueError
        If ``role`` is unknown.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    with sessions.begin() as session:
        session.add(
            Token(
                id=new_id("t"),
                name=name or role,
                role=role,
                token_hash=hash_token(token),
                created_at=utcnow(),
            )
        )
    return token


def identify(sessions: sessionmaker[Any], token: str) -> Identity | None:
    """Return who holds ``token``, or ``None`` if it is unknown or revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with sessions() as session:
        row = session.scalars(select(Token).where(Token.token_hash == hash_token(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        return Identity(row.id, row.name, row.role)


def token_is_active(sessions: sessionmaker[Any], token_id: str) -> bool:
    """Tell whether the token with ``token_id`` exists and is not revoked (links die with it)."""
    with sessions() as session:
        row = session.get(Token, token_id)
        return row is not None and row.revoked_at is None


def list_tokens(sessions: sessionmaker[Any]) -> list[Token]:
    """Return every token row (hashes only), oldest first."""
    with sessions() as session:
        return list(session.scalars(select(Token).order_by(Token.created_at)))


def revoke_token(sessions: sessionmaker[Any], token_id: str) -> bool:
    """Revoke a token by id; return whether one was revoked."""
    with sessions.begin() as session:
        row = session.get(Token, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        return True
