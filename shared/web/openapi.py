"""What every operation's OpenAPI entry says about its errors: RFC 9457 problem details.

Litestar documents errors as its own `{status_code, detail, extra}` JSON, and only the 400 it
raises itself; the services answer `application/problem+json` (shared/web/problems.py) with
statuses that follow from what an operation is. This is the one place that says so, for every
route of every service: `describe_problems` rewrites the built document once, in `build_app`.

Which statuses an operation documents:
- 400 and 422 when it takes input (parameters or a body): 400 when the input does not match
  the document, 422 when it does but breaks a rule the document cannot state;
- 401 and 403 when it needs a bearer token (optional tokens too: a wrong one is refused);
  403 alone when it needs a webhook signature;
- 404 when its path names something (path parameters);
- 409 when it writes (a concurrent change, or a state that forbids it);
- 500 always; and whatever error the route itself declares (`responses=`, e.g. 429 or 413),
  described as problem details too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    PathItem,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)

from shared.web.problems import PROBLEM_JSON

BEARER = "bearer"
# A route whose token is optional (public, or staff acting with their token) says so with
# `security=OPTIONAL_BEARER`: no requirement, or the bearer token.
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {BEARER: []}]
WRITES = ("post", "put", "patch", "delete")
METHODS = ("get", *WRITES)

WHEN = {
    400: "The request does not match this document: malformed JSON or form, a missing or "
    "mistyped field, a value outside its schema. `field` names the wrong input.",
    401: "No bearer token, or one that is malformed, forged or expired.",
    403: "The token's role or communes do not allow this, or the webhook signature is "
    "missing or wrong.",
    404: "Nothing with that id or code exists (or, for a resident, not one of theirs).",
    409: "The state forbids it (full session, already answered, already paused, a taken "
    "phone) or changed meanwhile (`concurrent-change`: reload and try again).",
    413: "The body is larger than this operation takes.",
    422: "The request matches this document but breaks a rule it cannot state (a weekend "
    "date, a known commune, a time in the future, a CSV row). `field` and `errors[]` say "
    "which input and why.",
    429: "Too many requests from this client or phone number; `Retry-After` says when to "
    "try again.",
    500: "Something went wrong on our side; it is logged.",
}
HEADERS = {
    401: {
        "WWW-Authenticate": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING), description="Bearer realm", required=True
        )
    },
    429: {
        "Retry-After": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING),
            description="seconds to wait before asking again",
            required=True,
        )
    },
}

_PROBLEM = Reference(ref="#/components/schemas/Problem")
_SCHEMAS: dict[str, Schema] = {
    "Problem": Schema(
        type=OpenAPIType.OBJECT,
        description="RFC 9457 problem details; `field` and `errors[]` name the wrong input.",
        required=["type", "title", "status", "detail"],
        properties={
            "type": Schema(type=OpenAPIType.STRING, description="a URI naming the problem"),
            "title": Schema(type=OpenAPIType.STRING),
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": Schema(type=OpenAPIType.STRING),
            "instance": Schema(type=OpenAPIType.STRING, description="the path asked for"),
            "field": Schema(type=OpenAPIType.STRING, description="the first wrong input"),
            "errors": Schema(
                type=OpenAPIType.ARRAY,
                items=Reference(ref="#/components/schemas/InvalidField"),
            ),
        },
    ),
    "InvalidField": Schema(
        type=OpenAPIType.OBJECT,
        required=["field", "message"],
        properties={
            "field": Schema(type=OpenAPIType.STRING),
            "message": Schema(type=OpenAPIType.STRING),
        },
    ),
}


def describe_problems(openapi: OpenAPI) -> None:
    """Document every operation's errors as the problem details the service really sends."""
    components = openapi.components
    components.schemas = {**(components.schemas or {}), **_SCHEMAS}
    schemes = components.security_schemes or {}
    for item in (openapi.paths or {}).values():
        for method, operation in _operations(item):
            _describe(method, operation, schemes)


def _operations(item: PathItem) -> Iterator[tuple[str, Operation]]:
    for method in METHODS:
        operation = getattr(item, method)
        if operation is not None:
            yield method, operation


def statuses(method: str, operation: Operation, schemes: Mapping[str, object]) -> set[int]:
    """The error statuses an operation can answer, from what it is (see the module docstring)."""
    parameters = operation.parameters or []
    found = {500}
    if parameters or operation.request_body is not None:
        found |= {400, 422}
    for requirement in operation.security or []:
        for name in requirement:
            scheme = schemes.get(name)
            bearer = isinstance(scheme, SecurityScheme) and scheme.type == "http"
            found |= {401, 403} if bearer else {403}
    if any(getattr(p, "param_in", None) == "path" for p in parameters):
        found.add(404)
    if method in WRITES:
        found.add(409)
    return found


def _describe(method: str, operation: Operation, schemes: Mapping[str, object]) -> None:
    responses = operation.responses or {}
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(statuses(method, operation, schemes) | declared):
        given = responses.get(str(status))
        description = WHEN.get(status, "An error.")
        # A route's own `responses=` entry (no content) keeps its words; Litestar's generic
        # ones ("Bad request syntax or unsupported method") give way to ours.
        if isinstance(given, OpenAPIResponse) and given.content is None and given.description:
            description = given.description
        responses[str(status)] = OpenAPIResponse(
            description=description,
            content={PROBLEM_JSON: OpenAPIMediaType(schema=_PROBLEM)},
            headers=dict(HEADERS.get(status, {})) or None,
        )
    operation.responses = dict(sorted(responses.items()))


def csv_body(description: str) -> type[Operation]:
    """An `operation_class` for a route that reads a `text/csv` body itself (Litestar would
    parse a declared `data` as JSON), so its document still says what the file holds."""

    @dataclass
    class CsvBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={
                    "text/csv": OpenAPIMediaType(
                        schema=Schema(type=OpenAPIType.STRING, description=description)
                    )
                },
                description=description,
                required=True,
            )

    return CsvBody
