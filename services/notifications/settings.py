"""How this deployment sends SMS: provider, rate limit, diacritics, quiet hours, reminders.

Read once from the environment by the entrypoint (`NotificationSettings.from_env(os.environ,
var_dir)`) and passed to `create_app`; tests build `NotificationSettings(...)` directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path

import msgspec

from services.notifications.domain.erasure_codes import CodeRules
from services.notifications.domain.messages import OptOutPolicy, RetryPolicy
from services.notifications.domain.quiet_hours import QuietHours
from services.notifications.domain.reminders import (
    DEFAULT_OFFSETS,
    BeforeStart,
    EveningBefore,
    ReminderOffset,
)
from services.notifications.providers.http_json import HttpJsonConfig, PhoneFormat
from services.notifications.providers.twilio import TwilioConfig
from shared.settings import ConfigError, flag, number, persisted_secret, whole_number

PROVIDERS = ("console", "twilio", "http_json")
CONCURRENCY = 32  # provider calls at once per instance
WEBHOOK_SECRET_FILE = "sms-webhook-secret"  # noqa: S105 (a file name, not a secret)
_HOUR = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_BEFORE = re.compile(r"^(\d+)(m|h)$")
_EVENING = re.compile(r"^(\d+)d@(\d{1,2}:\d{2})$")


OPT_OUT_KEY_FILE = "opt-out-key"


class NotificationSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the notifications service needs beyond the shared Settings."""

    provider: str = "console"
    # Keys the hash that is all that is kept of an erased resident's opted-out number
    # (services/notifications/forgetting.py); the same in every instance.
    opt_out_key: str = ""
    twilio: TwilioConfig | None = None
    http_json: HttpJsonConfig | None = None
    # Messages per second handed to the provider; 0 lifts the limit.
    rate: float = 30.0
    strip_diacritics: bool = False
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    public_url: str | None = None
    # The secret that signs inbound webhooks (X-Twilio-Signature); none: every webhook is 403.
    # From the environment, else the Twilio auth token, else one generated on first start.
    webhook_token: str | None = None
    reminder_offsets: tuple[EveningBefore | BeforeStart, ...] = DEFAULT_OFFSETS
    allow_essential_after_opt_out: bool = False
    max_attempts: int = 5
    first_retry: timedelta = timedelta(seconds=30)
    max_retry: timedelta = timedelta(minutes=30)
    # How often the provider is asked about an interrupted send (with the retry backoff)
    # before the message is given up as "outcome unknown".
    max_lookups: int = 10
    # The sender: how many messages one instance takes at a time, how long it holds them,
    # how many provider calls run at once, and how long it sleeps when nothing is due.
    # A message still `sending` after its lease counts as interrupted, so the lease must
    # outlast a provider call (see `send_deadline`).
    batch_size: int = 200
    lease: timedelta = timedelta(seconds=60)
    concurrency: int = CONCURRENCY
    idle_wait: float = 0.2
    provider_timeout: float = 10.0
    # Erasure asked by SMS (XOA): how long a confirmation code is good for, and how many
    # wrong codes cancel it.
    erasure_code_minutes: int = 30
    erasure_code_tries: int = 5

    @property
    def erasure_codes(self) -> CodeRules:
        return CodeRules(
            valid_for=timedelta(minutes=self.erasure_code_minutes),
            max_tries=self.erasure_code_tries,
        )

    @property
    def quiet(self) -> QuietHours:
        return QuietHours(start=self.quiet_start, end=self.quiet_end)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            first_delay=self.first_retry, max_delay=self.max_retry, max_attempts=self.max_attempts
        )

    @property
    def lookups(self) -> RetryPolicy:
        return RetryPolicy(
            first_delay=self.first_retry, max_delay=self.max_retry, max_attempts=self.max_lookups
        )

    @property
    def opt_out(self) -> OptOutPolicy:
        return OptOutPolicy(allow_essential_cancellations=self.allow_essential_after_opt_out)

    @property
    def call_margin(self) -> timedelta:
        """A call begun later than this before its lease ends could still be under way when
        another sender takes the message as interrupted: it is not begun. Past that check a
        call may still wait for the rate limit (at most `concurrency` calls wait, one token
        each) and then take up to the timeout."""
        waits = self.concurrency / self.rate if self.rate > 0 else 0.0
        return timedelta(seconds=self.provider_timeout + 1.0 + waits)

    def status_callback_url(self) -> str | None:
        return None if self.public_url is None else self.public_url.rstrip("/") + "/sms/status"

    @classmethod
    def from_env(cls, env: Mapping[str, str], var_dir: Path | None = None) -> NotificationSettings:
        """`var_dir` keeps the webhook secret generated when none is configured (as `up` runs
        it); without it, an unconfigured secret stays unset and every webhook is refused."""
        provider = env.get("HANDINHAND_SMS_PROVIDER", "console").strip().lower() or "console"
        if provider not in PROVIDERS:
            raise ConfigError(f"HANDINHAND_SMS_PROVIDER must be one of {', '.join(PROVIDERS)}")
        public_url = _url(env, "HANDINHAND_SMS_PUBLIC_URL")
        twilio = _twilio(env, public_url) if provider == "twilio" else None
        http_json = _http_json(env) if provider == "http_json" else None
        quiet_start, quiet_end = _quiet_hours(env)
        lease = number(env, "HANDINHAND_SMS_LEASE_SECONDS", 60.0, 1.0, 3600.0, unit="seconds")
        timeout = number(
            env, "HANDINHAND_SMS_PROVIDER_TIMEOUT_SECONDS", 10.0, 0.1, 600.0, unit="seconds"
        )
        if timeout * 2 > lease:
            raise ConfigError(
                "HANDINHAND_SMS_LEASE_SECONDS must be at least twice "
                "HANDINHAND_SMS_PROVIDER_TIMEOUT_SECONDS (a call must end within its lease)"
            )
        rate = _rate(env)
        if rate > 0 and timeout + 1.0 + CONCURRENCY / rate >= lease:
            raise ConfigError(
                "HANDINHAND_SMS_LEASE_SECONDS must exceed the provider timeout + 1 s + the "
                f"wait for HANDINHAND_SMS_RATE ({CONCURRENCY} calls / {rate:g} a second)"
            )
        webhook_token = env.get("HANDINHAND_SMS_WEBHOOK_TOKEN") or (
            twilio.auth_token if twilio is not None else None
        )
        if webhook_token is None and var_dir is not None:
            webhook_token = persisted_secret(var_dir, WEBHOOK_SECRET_FILE)
        opt_out_key = env.get("HANDINHAND_OPT_OUT_KEY") or (
            persisted_secret(var_dir, OPT_OUT_KEY_FILE) if var_dir is not None else ""
        )
        return cls(
            provider=provider,
            opt_out_key=opt_out_key,
            twilio=twilio,
            http_json=http_json,
            rate=rate,
            strip_diacritics=flag(env, "HANDINHAND_SMS_STRIP_DIACRITICS", default=False),
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            public_url=public_url,
            webhook_token=webhook_token,
            reminder_offsets=_reminders(env),
            allow_essential_after_opt_out=flag(
                env, "HANDINHAND_SMS_ESSENTIAL_AFTER_OPT_OUT", default=False
            ),
            max_attempts=whole_number(env, "HANDINHAND_SMS_MAX_ATTEMPTS", 5, 1, 20),
            max_lookups=whole_number(env, "HANDINHAND_SMS_MAX_LOOKUPS", 10, 1, 100),
            lease=timedelta(seconds=lease),
            provider_timeout=timeout,
            erasure_code_minutes=whole_number(env, "HANDINHAND_ERASURE_CODE_MINUTES", 30, 5, 1440),
            erasure_code_tries=whole_number(env, "HANDINHAND_ERASURE_CODE_TRIES", 5, 1, 20),
        )


def _rate(env: Mapping[str, str]) -> float:
    name = "HANDINHAND_SMS_RATE"
    raw = env.get(name, "").strip()
    if not raw:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be messages per second (0 = unlimited)") from None
    if not 0 <= value <= 100_000:
        raise ConfigError(f"{name} must be between 0 and 100000, got {raw!r}")
    return value


def _url(env: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        if required:
            raise ConfigError(f"{name} is required for this SMS provider")
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    return raw.rstrip("/")


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required for this SMS provider")
    return value


def _twilio(env: Mapping[str, str], public_url: str | None) -> TwilioConfig:
    sender = env.get("HANDINHAND_TWILIO_FROM", "").strip() or None
    service = env.get("HANDINHAND_TWILIO_MESSAGING_SERVICE_SID", "").strip() or None
    if (sender is None) == (service is None):
        raise ConfigError(
            "set exactly one of HANDINHAND_TWILIO_FROM and HANDINHAND_TWILIO_MESSAGING_SERVICE_SID"
        )
    return TwilioConfig(
        account_sid=_required(env, "HANDINHAND_TWILIO_ACCOUNT_SID"),
        auth_token=_required(env, "HANDINHAND_TWILIO_AUTH_TOKEN"),
        base_url=_url(env, "HANDINHAND_TWILIO_BASE_URL") or "https://api.twilio.com",
        from_number=sender,
        messaging_service_sid=service,
        status_callback_url=None if public_url is None else public_url + "/sms/status",
    )


def _words(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _http_json(env: Mapping[str, str]) -> HttpJsonConfig:
    prefix = "HANDINHAND_SMS_HTTP_"
    url = _url(env, prefix + "URL", required=True)
    assert url is not None
    phone_format = env.get(prefix + "PHONE_FORMAT", "e164").strip().lower() or "e164"
    if phone_format not in {"e164", "local"}:
        raise ConfigError(f"{prefix}PHONE_FORMAT must be e164 or local")
    static_raw = env.get(prefix + "STATIC_FIELDS", "").strip()
    try:
        static = msgspec.json.decode(static_raw, type=dict[str, str | int]) if static_raw else {}
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ConfigError(f"{prefix}STATIC_FIELDS must be a JSON object") from None
    try:
        return _http_json_config(env, url, PhoneFormat(phone_format), dict(static))
    except ValueError as error:
        raise ConfigError(f"{prefix}LOOKUP_URL: {error}") from None


def _http_json_config(
    env: Mapping[str, str], url: str, phone_format: PhoneFormat, static: dict[str, str | int]
) -> HttpJsonConfig:
    prefix = "HANDINHAND_SMS_HTTP_"
    return HttpJsonConfig(
        url=url,
        name=env.get(prefix + "NAME", "").strip() or "http_json",
        auth_header=env.get(prefix + "AUTH_HEADER", "").strip() or None,
        auth_value=env.get(prefix + "AUTH_VALUE", "").strip() or None,
        phone_field=env.get(prefix + "PHONE_FIELD", "").strip() or "phone",
        text_field=env.get(prefix + "TEXT_FIELD", "").strip() or "message",
        brandname_field=env.get(prefix + "BRANDNAME_FIELD", "").strip() or None,
        brandname=env.get(prefix + "BRANDNAME", "").strip() or None,
        message_id_field=env.get(prefix + "MESSAGE_ID_FIELD", "").strip() or None,
        provider_id_path=env.get(prefix + "ID_PATH", "").strip() or "id",
        phone_format=phone_format,
        static_fields=dict(static),
        success_path=env.get(prefix + "SUCCESS_PATH", "").strip() or None,
        success_values=_words(env, prefix + "SUCCESS_VALUES"),
        temporary_values=_words(env, prefix + "TEMPORARY_VALUES"),
        deduplicates=flag(env, prefix + "DEDUPLICATES", default=False),
        lookup_url=_url(env, prefix + "LOOKUP_URL"),
        lookup_found_path=env.get(prefix + "LOOKUP_FOUND_PATH", "").strip() or "found",
        lookup_found_values=_words(env, prefix + "LOOKUP_FOUND_VALUES") or ("true",),
        lookup_missing_values=_words(env, prefix + "LOOKUP_MISSING_VALUES") or ("false",),
        lookup_id_path=env.get(prefix + "LOOKUP_ID_PATH", "").strip() or None,
    )


def _hour(text: str, name: str) -> time:
    found = _HOUR.match(text.strip())
    if found is None:
        raise ConfigError(f"{name} needs HH:MM times, got {text!r}")
    return time(int(found.group(1)), int(found.group(2)))


def _quiet_hours(env: Mapping[str, str]) -> tuple[time, time]:
    name = "HANDINHAND_SMS_QUIET_HOURS"
    raw = env.get(name, "").strip()
    if not raw:
        return time(21, 0), time(7, 0)
    if raw.lower() == "none":
        return time(0, 0), time(0, 0)
    start, dash, end = raw.partition("-")
    if not dash:
        raise ConfigError(f"{name} must look like 21:00-07:00 (or none), got {raw!r}")
    return _hour(start, name), _hour(end, name)


def _reminders(env: Mapping[str, str]) -> tuple[ReminderOffset, ...]:
    """HANDINHAND_SMS_REMINDERS=1d@19:00,2h: days before at a local time, or a lead (h or m)."""
    name = "HANDINHAND_SMS_REMINDERS"
    raw = env.get(name)
    if raw is None:
        return DEFAULT_OFFSETS
    offsets: list[ReminderOffset] = []
    for part in _words(env, name):
        if found := _BEFORE.match(part):
            amount = int(found.group(1))
            lead = timedelta(hours=amount) if found.group(2) == "h" else timedelta(minutes=amount)
            offsets.append(BeforeStart(lead=lead))
        elif found := _EVENING.match(part):
            offsets.append(
                EveningBefore(days_before=int(found.group(1)), at=_hour(found.group(2), name))
            )
        else:
            raise ConfigError(f"{name} takes items like 1d@19:00 or 2h or 30m, got {part!r}")
    for offset in offsets:
        if isinstance(offset, EveningBefore) and offset.days_before < 1:
            raise ConfigError(f"{name}: days before must be at least 1")
        if isinstance(offset, BeforeStart) and offset.lead <= timedelta(0):
            raise ConfigError(f"{name}: a reminder lead must be positive")
    return tuple(offsets)
