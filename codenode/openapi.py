"""What the frontend's and the backend's OpenAPI documents share: the error answer, the error
responses a route declares, and links between operations.

FastAPI describes what a route answers when it succeeds. What it answers otherwise (always
in the one shape of ``codenode.web.error_response``) is declared with ``errors``, on a router
or a route: ``APIRouter(responses=errors(401, 404))``. Links say which answer gives the
values of the next request (``POST /engines`` answers the ``id`` that ``GET
/engines/{engine_id}`` takes); ``with_links`` joins them to the generated document, once per
app. Clients and the schemathesis suite (``tests/security/``) read both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ErrorBody(BaseModel):
    """Every error answer of the frontend and the backend."""

    error: str
    """A machine-readable code: ``not_found``, ``bad_request``, ``http_405``..."""
    message: str
    """What went wrong and what to do, for a person."""


WHEN = {
    400: "A request that cannot be served as it is (the message says why)",
    401: "No valid credentials: not signed in, or no valid token",
    403: "Refused: the caller may not do this",
    404: "Nothing there: no such resource, or none the caller may know of",
    405: "No such method on this path",
    409: "In conflict with what exists",
    413: "The request body is too large",
    422: "A value the route does not take (every problem named)",
    429: "Too many attempts: try again later (Retry-After)",
    503: "Unavailable for now: a backend or an engine could not serve it",
    507: "No space left: the workspace or the disk is full",
}
"""A description of each error status the documents declare."""


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses`` declaring *statuses* as error answers (``ErrorBody``)."""
    return {status: {"model": ErrorBody, "description": WHEN[status]} for status in statuses}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: the answer *status* of *source* gives values of a request to *target*.

    Operations are named by method and path; values are runtime expressions, by parameter
    name (qualified with its place where two share a name) or as the body's fields::

        Link("POST /engines", 201, "GET /engines/{engine_id}",
             {"engine_id": "$response.body#/id"})
    """

    source: str
    status: int
    target: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


def with_links(document: dict[str, Any], links: Iterable[Link]) -> dict[str, Any]:
    """*document* with *links* added to its responses; a link that names an operation or a
    status the document lacks is an error, so that a renamed route cannot leave one behind."""
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    for link in links:
        for name in (link.source, link.target):
            if name not in operations:
                raise ValueError(f"link {link}: no operation {name!r} in the document")
        responses = operations[link.source]["responses"]
        if str(link.status) not in responses:
            raise ValueError(f"link {link}: {link.source} declares no {link.status} answer")
        target_id = operations[link.target]["operationId"]
        named = responses[str(link.status)].setdefault("links", {})
        if target_id in named:
            raise ValueError(f"link {link}: a second link from there to {link.target}")
        declared: dict[str, Any] = {"operationId": target_id}
        if link.parameters:
            declared["parameters"] = dict(link.parameters)
        if link.body is not None:
            declared["requestBody"] = dict(link.body)
        named[target_id] = declared
    return document


def fan_out(
    source: str, status: int, targets: Iterable[str], parameters: Mapping[str, str]
) -> list[Link]:
    """A link from *source* to each of *targets*, each with the same *parameters*."""
    return [Link(source, status, target, parameters) for target in targets]


def describe_links(app: FastAPI, links: Iterable[Link]) -> None:
    """Make *app* serve its generated document with *links* (FastAPI's way to change it)."""
    generate = app.openapi
    chosen = tuple(links)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_links(generate(), chosen)
        document: dict[str, Any] = app.openapi_schema
        return document

    app.openapi = openapi  # type: ignore[method-assign]
