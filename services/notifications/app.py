"""The notifications service's composition root."""

from __future__ import annotations

import os

from litestar import Litestar
from litestar.openapi.spec import SecurityScheme

from services.notifications import api
from services.notifications.delivery import EXTRA, build_channel
from services.notifications.domain.errors import MessageStateError
from services.notifications.parts import PARTS
from services.notifications.providers.base import SmsProvider
from services.notifications.settings import NotificationSettings
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import build_app


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sms: NotificationSettings | None = None,
    provider: SmsProvider | None = None,
) -> Litestar:
    """`sms` comes from `NotificationSettings.from_env(os.environ, var_dir)` in the entrypoint;
    when it is not given, the environment is read here once (and the webhook secret kept in
    `settings.var_dir` when none is set). `provider` replaces the configured one (benchmarks
    and tests)."""
    clock = clock or SystemClock()
    sms = sms if sms is not None else NotificationSettings.from_env(os.environ, settings.var_dir)
    runtime = Runtime(settings, PARTS, build_catalog(), clock)
    runtime.extras[EXTRA] = build_channel(sms, clock, provider)
    return build_app(
        runtime,
        api.routes,
        title="notifications",
        description="SMS out and in, reminders, delivery receipts and opt-out.",
        rule_errors={MessageStateError: 409},
        security_schemes={
            api.SIGNATURE: SecurityScheme(
                type="apiKey",
                name="X-Twilio-Signature",
                security_scheme_in="header",
                description="Base64 HMAC-SHA1, keyed with the webhook secret, of the public URL "
                "followed by every form field's name and value sorted by name (Twilio's "
                "scheme; `handinhand sms from` signs the same way).",
            )
        },
    )
