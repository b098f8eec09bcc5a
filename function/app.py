"""Lambda entry point: ``app.lambda_handler`` serves API Gateway proxy events (REST's payload 1.0 and HTTP
API's 2.0) and direct tutorial events.

Proxy events (``httpMethod`` present, or ``version: "2.0"``) are routed to /items and the tutorial endpoint
and answered as proxy responses in their own format, errors as application/problem+json. Direct invocations
(``{"operation", …}``: the tutorial's test events, Power Tuning payloads) get the raw tutorial result, and on
bad input the problem object instead of an exception, so a tuning run is never aborted by one bad payload.
Either way one JSON/EMF log line per request.
"""

from __future__ import annotations

import gc
import time
import traceback
from dataclasses import dataclass
from typing import Any

import codec
import proxy
import request_log
import routing
import store
import tutorial
from problems import ApiError, problem
from proxy import Response

PROBLEM_JSON = "application/problem+json"
_DIRECT_ROUTES = {name: f"direct {name}" for name in tutorial.OPERATION_NAMES}


def _failure(error: Exception) -> tuple[ApiError, str | None]:
    """The answer to an exception and the cause to log. An ApiError is an answer; anything else is a bug, not
    bad input: the client gets an opaque 500 with the request id, the log gets the traceback."""
    if isinstance(error, ApiError):
        return error, error.cause
    cause = "".join(traceback.format_exception(error)).strip()
    return ApiError(500, "internal error; quote the requestId when reporting it"), cause


@dataclass(frozen=True)
class Served:
    """One request's answer and what its log line records about it."""

    result: Any  # the proxy response, or a direct caller's result
    method: str
    route: str  # a fixed label (the route template), never the raw path: metric dimensions stay bounded
    status: int
    cause: str | None = None  # why it failed, for the log only


def _serve_proxy(event: dict, request_id: str) -> Served:
    http_api = proxy.is_http_api_event(event)
    method = ""
    route = "unmatched"  # a fixed label: raw paths would make the metric's dimension unbounded
    try:
        request = proxy.parse(event, request_id)
        method = request.method
        route = routing.resolve(request)
        response = routing.handler_for(route, method)(request)
        # Rendered inside the try: a body that cannot be written (an echo too deep to encode) is an answer
        # too, not an exception API Gateway turns into a bare 502.
        return Served(proxy.to_event_response(response, http_api), method, route, response.status)
    except Exception as error:  # the last line of defence
        failure, cause = _failure(error)
        document = problem(failure, request_id, tutorial=route in routing.TUTORIAL_RESOURCES)
        response = Response(failure.status, document, failure.headers, PROBLEM_JSON)
    return Served(proxy.to_event_response(response, http_api), method, route, response.status, cause)


def _serve_direct(event: Any, request_id: str) -> Served:
    operation = event.get("operation") if isinstance(event, dict) else None
    route = _DIRECT_ROUTES.get(operation, "direct") if isinstance(operation, str) else "direct"
    try:
        return Served(codec.native(tutorial.run(event)), "INVOKE", route, 200)
    except Exception as error:  # a direct caller gets the error object, never a crash
        failure, cause = _failure(error)
        return Served(problem(failure, request_id, tutorial=True), "INVOKE", route, failure.status, cause)


def lambda_handler(event: Any, context: Any) -> Any:
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None) or "local"
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    store.set_deadline(remaining_ms() if remaining_ms else None)
    if isinstance(event, dict) and ("httpMethod" in event or proxy.is_http_api_event(event)):
        served = _serve_proxy(event, request_id)
    else:
        served = _serve_direct(event, request_id)
    request_log.log_request(
        method=served.method,
        route=served.route,
        status=served.status,
        latency_ms=(time.perf_counter() - started) * 1000,
        request_id=request_id,
        cause=served.cause,
    )
    return served.result


store.prime()
# Everything built so far lives as long as the environment: keep it out of the collector's way, so no gen-2
# collection over the imported modules' objects lands inside a request (README: figures behind the code).
gc.freeze()
