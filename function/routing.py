"""The REST routes as data: API Gateway resource → method → handler (kept identical to api/openapi.yaml)."""

from __future__ import annotations

from collections.abc import Callable

import items
import proxy
import tutorial
from problems import ApiError
from proxy import Request, Response

Handler = Callable[[Request], Response]


def tutorial_endpoint(request: Request) -> Response:
    """POST /DynamoDBManager: the body is the tutorial's event (any Content-Type, as its clients send)."""
    return Response(200, tutorial.run(proxy.json_body(request, None)))


# The tutorial endpoint under both spellings the contract declares (API Gateway paths are case-sensitive).
TUTORIAL_RESOURCES = ("/DynamoDBManager", "/dynamodbmanager")
ROUTES: dict[str, dict[str, Handler]] = {
    "/items": {"GET": items.list_items, "POST": items.create_item},
    "/items/{id}": {
        "GET": items.get_item,
        "PUT": items.replace_item,
        "PATCH": items.patch_item,
        "DELETE": items.delete_item,
    },
    **{resource: {"POST": tutorial_endpoint} for resource in TUTORIAL_RESOURCES},
}


def resolve(request: Request) -> str:
    """The route template this request is for, from API Gateway's ``resource`` or else from the path."""
    if request.resource in ROUTES:
        return request.resource
    segments = request.path.split("/")
    if len(segments) == 3 and segments[1] == "items" and segments[2]:
        request.path_parameters = {"id": segments[2], **request.path_parameters}
        return "/items/{id}"
    if request.path in ROUTES:
        return request.path
    raise ApiError(404, f"no such resource: {request.path or request.resource}")


def handler_for(route: str, method: str) -> Handler:
    """The route's handler for ``method``; 405 with ``Allow`` when the route does not take it."""
    methods = ROUTES[route]
    if method not in methods:
        allow = ", ".join(sorted(methods))
        raise ApiError(405, f"{route} allows {allow}", headers={"Allow": allow})
    return methods[method]
