"""The console's composition root: pages over the other services' public APIs."""

from __future__ import annotations

import hashlib
import hmac

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide

from services.console import i18n, pages
from services.console.pages.common import EXCEPTION_HANDLERS, provide_viewer, template_config
from services.console.parts import PARTS, work
from services.console.service import Console
from services.console.settings import ConsoleSettings
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import Pages, build_app


def create_app(
    settings: Settings, *, console: ConsoleSettings, clock: Clock | None = None
) -> Litestar:
    """`console` comes from `ConsoleSettings.from_env(os.environ, settings)` in the entrypoint
    (services/cli.py)."""
    runtime = Runtime(settings, PARTS, build_catalog(), clock or SystemClock())
    context = Console.assemble(runtime, console)
    i18n.load_catalogs()
    # A key of its own, derived from the console's secret: a CSRF token is no bearer token,
    # and rotating the token keys must not void every open form.
    csrf_secret = hmac.new(console.code_secret.encode(), b"console-csrf", hashlib.sha256)
    return build_app(
        context,
        runtime,
        work(context),
        pages.routes,
        title="console",
        description="The coordinator console: web pages, no API of its own.",
        dependencies={"viewer": Provide(provide_viewer)},
        pages=Pages(
            templates=template_config(),
            csrf=CSRFConfig(
                secret=csrf_secret.hexdigest(),
                cookie_name="hih_csrf",
                cookie_secure=console.secure_cookies,
                cookie_samesite="lax",
                cookie_httponly=True,
                exclude=["/healthz", "/readyz", "/metrics"],
            ),
            exception_handlers=EXCEPTION_HANDLERS,
            middleware=[i18n.language_middleware],
            on_shutdown=[context.peers.close],
        ),
    )
