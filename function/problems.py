"""Errors as RFC 9457 problem details: one exception type that every layer raises and the handler renders."""

from __future__ import annotations

TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

# The errorType tutorial clients see for each status, unless a raiser names a more precise one.
DEFAULT_ERROR_TYPES = {
    400: "ValidationError",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableContent",
    500: "InternalError",
    502: "DependencyFailure",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """A request that cannot be served; ``cause`` is logged, never sent (it may name internals)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error_type = error_type or DEFAULT_ERROR_TYPES.get(status, "Error")
        self.headers = headers or {}
        self.cause = cause


def problem(error: ApiError, request_id: str, *, tutorial: bool) -> dict:
    """The problem document; the tutorial endpoint adds the Lambda-style ``errorType``/``errorMessage``."""
    document = {
        "type": "about:blank",
        "title": TITLES.get(error.status, "Error"),
        "status": error.status,
        "detail": error.detail,
        "requestId": request_id,
    }
    if tutorial:
        document["errorType"] = error.error_type
        document["errorMessage"] = error.detail
    return document
