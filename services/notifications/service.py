"""What one notifications app holds, built once by `create_app` and handed to its consumers,
timers, workers and HTTP dependencies."""

from __future__ import annotations

from dataclasses import dataclass

from services.notifications.delivery import SmsChannel, build_channel
from services.notifications.providers.base import SmsProvider
from services.notifications.retention import RetentionHook
from services.notifications.settings import NotificationSettings
from shared.runtime import Runtime


@dataclass(frozen=True)
class Notifications:
    """The runtime and the SMS channel: the settings, the provider they chose (or one a test
    or benchmark gave) and the senders using it."""

    runtime: Runtime
    channel: SmsChannel
    # What the daily retention run also forgets by age (services/notifications/retention.py).
    retention_hooks: tuple[RetentionHook, ...]

    @property
    def sms(self) -> NotificationSettings:
        return self.channel.settings

    @classmethod
    def assemble(
        cls, runtime: Runtime, sms: NotificationSettings, provider: SmsProvider | None = None
    ) -> Notifications:
        return cls(
            runtime=runtime,
            channel=build_channel(sms, runtime.clock, provider),
            retention_hooks=(),  # the sealed texts in the events: not yet (docs/operations.md)
        )
