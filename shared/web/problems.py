"""RFC 9457 problem details for every error a service returns, naming the field that is wrong."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from shared.errors import DomainError
from shared.store.eventstore import ConcurrencyError
from shared.store.reachability import unreachable
from shared.web.auth import ForbiddenError, InvalidTokenError

log = logging.getLogger("handinhand.http")

PROBLEM_JSON = "application/problem+json"
_MISSING = re.compile(r"missing required field `([^`]+)`")
_PATH = re.compile(r"at `\$\.?([^`]*)`")
# While the database is away, clients are told to try again this many seconds later.
RETRY_AFTER_OUTAGE_S = 5
TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Request breaks a rule",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class InvalidField(msgspec.Struct, frozen=True):
    field: str
    message: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    errors: list[InvalidField] = []


class NotFoundError(LookupError):
    """The thing asked for does not exist (404)."""


class TooManyRequestsError(Exception):
    """A client or phone number asked too often (429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidInputError(ValueError):
    """Input that passed the schema but breaks a rule, naming the field (422); `errors` lists
    every wrong field when there are several (a help request, the rows of a CSV file)."""

    kind = "invalid-input"

    def __init__(
        self, field: str, message: str, *, errors: list[InvalidField] | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.errors = errors or [InvalidField(field=field, message=message)]

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> InvalidInputError:
        """Several wrong fields at once, each with its reason."""
        errors = [InvalidField(field=f, message=m) for f, m in problems]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return cls(errors[0].field, detail, errors=errors)


def problem(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    field: str | None = None,
    errors: list[InvalidField] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[Problem]:
    if field is None and errors:
        field = errors[0].field
    return Response(
        Problem(
            type=f"https://handinhand.example/problems/{kind or status}",
            title=TITLES.get(status, "Error"),
            status=status,
            detail=detail,
            instance=request.url.path,
            field=field,
            errors=errors or [],
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name a client sent a parameter by (`from`, `Idempotency-Key`), not the Python one."""
    handler: Any = request.scope.get("route_handler")
    if handler is None:
        return key
    signatures = [handler.parsed_fn_signature] + [
        provider.parsed_fn_signature
        for provider in handler.resolve_dependencies().values()
        if getattr(provider, "parsed_fn_signature", None) is not None
    ]
    for signature in signatures:
        kwarg = getattr(signature.parameters.get(key), "kwarg_definition", None)
        for alias in ("name", "query", "header", "cookie"):
            if name := getattr(kwarg, alias, None):
                return str(name)
    return key


def _invalid(request: Request[Any, Any, Any], item: Mapping[str, Any]) -> InvalidField:
    message = _PATH.sub("", str(item.get("message", ""))).rstrip(" -")
    key = str(item.get("key") or "body")
    if key == "data" and item.get("source") == "body":
        # Litestar names the handler's `data` argument; the client sent (or forgot) a body.
        missing = message == "'data'"
        key, message = "body", "a request body is required" if missing else message
    if found := _MISSING.search(message):
        return InvalidField(field=found.group(1), message=message)
    if (found := _PATH.search(str(item.get("message", "")))) and found.group(1):
        return InvalidField(field=found.group(1), message=message)
    return InvalidField(field=_wire_name(request, key), message=message)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [_invalid(request, item) for item in extra if isinstance(item, Mapping)]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return problem(request, 400, detail, kind="invalid-input", errors=errors)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, ValidationException):
        return _validation(request, exc)
    if isinstance(exc.__cause__, SerializationException):  # a body that is not JSON (or form)
        return problem(request, 400, str(exc.detail), kind="invalid-input", field="body")
    return problem(request, exc.status_code, str(exc.detail), headers=exc.headers)


# A route whose path holds a secret (a calendar feed's) says so with
# `opt={HIDDEN_PATH: True}`; its log lines name the route's template instead of the path.
HIDDEN_PATH = "hidden_path"


def logged_path(request: Request[Any, Any, Any]) -> str:
    """The path as a log line may show it: never a secret that stands in it."""
    handler = request.scope.get("route_handler")
    if handler is not None and handler.opt.get(HIDDEN_PATH):
        return str(request.scope.get("path_template") or "(a path holding a secret)")
    return request.url.path


def _internal(
    database_lost: Callable[[BaseException], bool],
) -> Callable[[Request[Any, Any, Any], Exception], Response[Problem]]:
    def internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
        if database_lost(exc):  # said once per outage (shared/store/reachability.py)
            return problem(
                request,
                503,
                "the database is briefly unavailable; try again in a few seconds",
                kind="database-unavailable",
                headers={"Retry-After": str(RETRY_AFTER_OUTAGE_S)},
            )
        log.error("unhandled error on %s %s", request.method, logged_path(request), exc_info=exc)
        return problem(
            request, HTTP_500_INTERNAL_SERVER_ERROR, "something went wrong; it is logged"
        )

    return internal


Handler = Callable[[Request[Any, Any, Any], Any], Response[Problem]]


def problem_handlers(
    rule_errors: Mapping[type[Exception], int] | None = None,
    *,
    database_lost: Callable[[BaseException], bool] = unreachable,
) -> dict[Any, Handler]:
    """Exception handlers for an app: framework errors, auth, conflicts and the domain's errors.

    Any `DomainError` is a 422 unless `rule_errors` maps one of its classes to another
    status (the first matching class decides, so specific errors come first); the error's
    `field` attribute, when set, names the wrong input field. `database_lost` says whether an
    unexpected error is the database being out of reach (503 with Retry-After instead of 500),
    and reports it (the service's `Reachability.lost`).
    """

    statuses: dict[type[Exception], int] = {**(rule_errors or {})}
    statuses.setdefault(DomainError, 422)  # well formed, but breaks a rule

    def rule(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
        status = next(s for cls, s in statuses.items() if isinstance(exc, cls))
        field = getattr(exc, "field", None)
        errors = [InvalidField(field=field, message=str(exc))] if field else None
        kind = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__.removesuffix("Error")).lower()
        return problem(request, status, str(exc), kind=kind, field=field, errors=errors)

    handlers: dict[Any, Handler] = {
        HTTPException: _http,
        InvalidTokenError: lambda r, e: problem(
            r, 401, str(e), headers={"WWW-Authenticate": 'Bearer realm="handinhand"'}
        ),
        ForbiddenError: lambda r, e: problem(r, 403, str(e)),
        NotFoundError: lambda r, e: problem(r, 404, str(e)),
        ConcurrencyError: lambda r, e: problem(
            r, 409, f"{e}; reload and try again", kind="concurrent-change"
        ),
        TooManyRequestsError: lambda r, e: problem(
            r, 429, str(e), headers={"Retry-After": str(e.retry_after)}
        ),
        InvalidInputError: lambda r, e: problem(
            r, 422, str(e), kind=e.kind, field=e.field, errors=e.errors
        ),
        Exception: _internal(database_lost),
    }
    for cls in statuses:
        handlers[cls] = rule
    return handlers
