"""The notifications service's composition root."""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import SecurityScheme

from services.notifications import api
from services.notifications.domain.errors import MessageStateError
from services.notifications.optouts import person_of_phone
from services.notifications.parts import PARTS, work
from services.notifications.providers.base import SmsProvider
from services.notifications.service import Notifications
from services.notifications.settings import NotificationSettings
from services.notifications.sign_in import CodeNotSentError
from shared.clock import Clock, SystemClock
from shared.events import build_catalog
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.app import build_app


def create_app(
    settings: Settings,
    *,
    sms: NotificationSettings,
    clock: Clock | None = None,
    provider: SmsProvider | None = None,
) -> Litestar:
    """`sms` comes from `NotificationSettings.from_env(os.environ, var_dir)` in the entrypoint
    (services/cli.py). `provider` replaces the configured one (benchmarks and tests)."""
    runtime = Runtime(
        settings,
        PARTS,
        build_catalog(),
        clock or SystemClock(),
        phone_person=lambda phone: person_of_phone(sms, phone),
    )
    notifications = Notifications.assemble(runtime, sms, provider)
    return build_app(
        notifications,
        runtime,
        work(notifications),
        api.routes,
        title="notifications",
        description="SMS out and in, reminders, delivery receipts and opt-out.",
        rule_errors={MessageStateError: 409, CodeNotSentError: 503},
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
