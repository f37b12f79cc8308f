"""Errors as RFC 9457 ``application/problem+json`` documents, and the body-size limit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from optimizer.errors import Problem

PROBLEM_JSON = "application/problem+json"


class ProblemItem(BaseModel):
    """One thing wrong with a request: where, and what."""

    where: str = Field(description="File, row and field, or the request field.")
    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None


class ProblemDetails(BaseModel):
    """An error response (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[ProblemItem] = Field(default_factory=list)


class ApiError(Exception):
    """An error to answer with a problem document.

    Parameters
    ----------
    status
        HTTP status code.
    title
        Short, fixed summary of the kind of problem.
    detail
        What went wrong this time.
    errors
        Every individual problem (e.g. every bad row of an uploaded scenario).
    headers
        Extra response headers, e.g. ``WWW-Authenticate``.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        errors: Iterable[ProblemItem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """Build the problem+json answer for this error."""
        return problem_response(
            self.status, self.title, self.detail, errors=self.errors, headers=self.headers
        )


def items_from_problems(
    problems: Iterable[Problem], *, hide: Mapping[str, str] | None = None
) -> list[ProblemItem]:
    """Turn bsb's input problems into problem items with the same wording as ``bsb validate``.

    Parameters
    ----------
    problems
        The problems, each naming file, row and field.
    hide
        Replacements applied to messages, e.g. the server's folder -> the upload's name, so
        that answers never reveal paths on the server.

    Returns
    -------
    list of ProblemItem
        One per problem, in order.
    """
    items = []
    for problem in problems:
        message = problem.message
        for secret, shown in (hide or {}).items():
            message = message.replace(secret, shown)
        items.append(
            ProblemItem(
                where=problem.where,
                message=message,
                file=problem.file,
                row=problem.row,
                field=problem.field,
            )
        )
    return items


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    *,
    errors: Iterable[ProblemItem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Build a problem+json response."""
    body = ProblemDetails(title=title, status=status, detail=detail, errors=list(errors))
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


class _TooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed.

    A ``Content-Length`` over the limit is refused before any body is read; a chunked body is
    counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(scope, send)
                    return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                # The app caught the error and answered itself; the answer is 413.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_TooLargeError):
            await self.app(scope, limited_receive, guarded_send)
        if too_large and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = problem_response(
            413,
            "Request body too large",
            f"the limit is {self.max_bytes:,} bytes",
        )
        await response(scope, _drain, send)


async def _drain() -> Message:
    return {"type": "http.disconnect"}
