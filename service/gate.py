"""The token gate: an API request without a valid token is refused before its body is read.

FastAPI reads and parses a request's body (a multipart upload of up to ``--max-body-mb``)
before it resolves the dependencies that check the token, so an anonymous client could make
the server receive and spool 50 MB per request. This pure ASGI middleware runs first: it looks
only at the ``Authorization`` header, answers 401 without ever calling ``receive``, and hands
the caller's :class:`~service.tokens.Identity` on in ``scope["state"]``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import anyio.to_thread
from sqlalchemy.orm import sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.problems import ApiError
from service.tokens import identify

IDENTITY_KEY = "identity"
"""Key of the caller's identity in ``scope["state"]`` (``request.state.identity``)."""


def missing_token() -> ApiError:
    """Return the 401 for a request without a bearer token."""
    return ApiError(
        401,
        "Authentication required",
        "send Authorization: Bearer <token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_token() -> ApiError:
    """Return the 401 for an unknown or revoked token."""
    return ApiError(
        401,
        "Invalid token",
        "the token is unknown or revoked",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(scope: Scope) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


class TokenGateMiddleware:
    """Refuse requests under ``prefix`` without a valid token, before any body is read.

    Parameters
    ----------
    app
        The application behind the gate.
    sessions
        Session factory of the service database (tokens are looked up by hash).
    prefix
        Path prefix that needs a token, e.g. ``/api/v1``.
    public
        Paths under ``prefix`` anyone may read.
    """

    def __init__(
        self,
        app: ASGIApp,
        sessions: sessionmaker[Any],
        prefix: str,
        public: Collection[str],
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.prefix = prefix.rstrip("/") + "/"
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token, then pass the request on untouched."""
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path in self.public:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        refusal = missing_token() if token is None else None
        if token is not None:
            # The database lookup is blocking: off the event loop, like any route.
            identity = await anyio.to_thread.run_sync(identify, self.sessions, token)
            if identity is None:
                refusal = invalid_token()
            else:
                scope.setdefault("state", {})[IDENTITY_KEY] = identity
        if refusal is not None:
            # `_no_body` instead of `receive`: the answer must not wait for, or read, the body.
            await refusal.response()(scope, _no_body, send)
            return
        await self.app(scope, receive, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
