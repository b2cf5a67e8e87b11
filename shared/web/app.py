"""The parts every service's Litestar app shares: health, readiness, metrics, problem details,
correlation ids, the caller from the bearer token and the Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, MediaType, Request, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import Response
from litestar.routes import HTTPRoute
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from shared.events.base import Cause
from shared.ids import uuid7
from shared.logs import correlation_id
from shared.runtime import Runtime, ServiceWork
from shared.store.eventstore import EventStore
from shared.web.auth import Caller, caller_from_header
from shared.web.bodies import StructSchemas, strict_json_body
from shared.web.idempotency import IdempotencyKey, check_key
from shared.web.metrics import RequestCounter, render_metrics
from shared.web.openapi import BEARER, describe_problems
from shared.web.problems import problem_handlers
from shared.web.times import TimeOfDaySchema, decode_time_of_day, is_time_of_day

CORRELATION_HEADER = "X-Correlation-Id"


@dataclass(frozen=True)
class Pages:
    """What an app of HTML pages adds to the shared parts."""

    templates: TemplateConfig[Any]
    csrf: CSRFConfig
    exception_handlers: Mapping[Any, Any] = field(default_factory=dict)
    middleware: Sequence[Any] = ()
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(state: State) -> Response[dict[str, Any]]:
    """Ready: the database and NATS are reachable."""
    runtime: Runtime = state.runtime
    checks = {"database": await runtime.database_ready(), "nats": await runtime.nats_ready()}
    ready = all(checks.values())
    return Response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@get("/metrics", include_in_schema=False, media_type=MediaType.TEXT)
async def metrics(state: State) -> str:
    return await render_metrics(state.runtime, state.requests, state.work.metrics)


def correlation_middleware(app: ASGIApp) -> ASGIApp:
    """Carry X-Correlation-Id into logs and events, and count requests by route and status."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(CORRELATION_HEADER.lower().encode(), b"").decode("latin-1")
        value = given if 0 < len(given) <= 100 and given.isprintable() else str(uuid7())
        token = correlation_id.set(value)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER.lower().encode(), value.encode()),
                ]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)
            route = scope.get("path_template") or scope.get("route_handler", None)
            name = route if isinstance(route, str) else "unmatched"
            scope["app"].state.requests.observe(scope.get("method", "?"), name, status)

    return middleware


def allow_middleware(app: ASGIApp) -> ASGIApp:
    """OPTIONS names every method of its path: Litestar 2 lists only those of the first
    handler registered there (litestar#4169), e.g. GET but not PATCH on /volunteers/{id}."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                methods = _methods(scope)
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*kept, (b"allow", ", ".join(methods).encode())]
            await send(message)

        await app(scope, receive, send_allow)

    return middleware


def _methods(scope: Scope) -> list[str]:
    template = scope.get("path_template")
    for route in scope["app"].routes:
        if isinstance(route, HTTPRoute) and route.path_format == template:
            return sorted(route.methods)
    return ["OPTIONS"]


async def provide_caller(request: Request[Any, Any, State]) -> Caller:
    runtime: Runtime = request.app.state.runtime
    return caller_from_header(
        runtime.settings.token_keys,
        runtime.revocations,
        request.headers.get("authorization"),
        runtime.clock.now(),
    )


async def provide_store(state: State) -> EventStore:
    store: EventStore = state.runtime.store
    return store


async def provide_cause(
    request: Request[Any, Any, State], idempotency_key: NamedDependency[str | None]
) -> Cause:
    return cause_of(request, idempotency_key)


def cause_of(request: Request[Any, Any, Any], idempotency_key: str | None) -> Cause:
    """Why a request appends: its correlation id, and event ids fixed by its Idempotency-Key."""
    current = correlation_id.get()
    return Cause(
        correlation_id=uuid7() if current is None else _as_uuid(current),
        id_seed=(
            None
            if idempotency_key is None
            else f"{request.method}:{request.url.path}:{idempotency_key}"
        ),
    )


async def provide_idempotency_key(key: IdempotencyKey = None) -> str | None:
    return check_key(key)


def _as_uuid(value: str) -> uuid.UUID:
    """A caller's own X-Correlation-Id need not be a UUID; events carry one derived from it."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, value)


def build_app(
    service: Any,
    runtime: Runtime,
    work: ServiceWork,
    route_handlers: Sequence[Any],
    *,
    title: str,
    description: str,
    rule_errors: Mapping[type[Exception], int] | None = None,
    dependencies: Mapping[str, Provide] | None = None,
    security_schemes: Mapping[str, SecurityScheme] | None = None,
    security: list[dict[str, list[str]]] | None = None,
    pages: Pages | None = None,
) -> Litestar:
    """A service's Litestar app: its routes plus everything every service must have.

    `service` is the service's typed context (e.g. `services.scheduler.service.Scheduler`),
    kept in the app's state for what cannot take a dependency (guards, tests); `work` is
    what the runtime runs beside HTTP (`parts.work(service)`).

    `security` is what every route of the service requires (volunteers: a bearer token);
    `security_schemes` names the service's own schemes (notifications: webhook signatures).
    `pages` is what a service of web pages adds (the console): templates, CSRF, its own
    middleware, error pages in place of problem details, and what to close on shutdown.
    """
    handlers: dict[Any, Any] = problem_handlers(rule_errors, database_lost=runtime.database_lost)
    if pages is not None:
        handlers.update(pages.exception_handlers)
    app = Litestar(
        route_handlers=[healthz, readyz, metrics, *route_handlers],
        dependencies={
            "caller": Provide(provide_caller),
            "store": Provide(provide_store),
            "cause": Provide(provide_cause),
            "idempotency_key": Provide(provide_idempotency_key),
            **(dependencies or {}),
        },
        lifespan=[lambda _app: runtime.lifespan(work)],
        security=security,
        logging_config=None,  # the entrypoint configures JSON logs once (shared.logs)
        exception_handlers=handlers,
        middleware=[correlation_middleware, allow_middleware, *(pages.middleware if pages else ())],
        template_config=pages.templates if pages else None,
        csrf_config=pages.csrf if pages else None,
        on_shutdown=list(pages.on_shutdown) if pages else None,
        state=State(
            {"service": service, "runtime": runtime, "work": work, "requests": RequestCounter()}
        ),
        type_decoders=[(is_time_of_day, decode_time_of_day)],
        before_request=strict_json_body,
        plugins=[StructSchemas(), TimeOfDaySchema()],
        openapi_config=OpenAPIConfig(
            title=f"HandInHand {title}",
            version="1",
            description=description,
            path="/schema",
            components=Components(
                security_schemes={
                    BEARER: SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT",
                        description=(
                            "A JWT (HS256, with a `kid`) from `handinhand token` or the console:"
                            " role, scope of province or commune codes, expiry."
                        ),
                    ),
                    **(security_schemes or {}),
                }
            ),
        ),
    )
    # Built once here (the routes are all known): every error documented as problem details.
    describe_problems(app.openapi_schema)
    return app
