"""How this deployment's console runs: its public URL, where the other services answer, the
secret that keys sign-in code hashes, and the sign-in rate limits.

Read once from the environment by the entrypoint (`ConsoleSettings.from_env(os.environ,
settings)`) and passed to `create_app`; tests build `ConsoleSettings(...)` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import msgspec

from shared.settings import ConfigError, Settings, persisted_secret, whole_number

CODE_SECRET_FILE = "console-code-secret"  # noqa: S105 (a file name, not a secret)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must start with http:// or https://, got {value!r}")
    return value.rstrip("/")


class ConsoleSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the console needs beyond the shared Settings."""

    public_url: str
    scheduler_url: str
    volunteers_url: str
    notifications_url: str
    # Keys the HMAC of sign-in codes, so a copy of the table does not give the codes away.
    code_secret: str
    # Sign-in code requests per phone and per client address in each window.
    per_phone: int = 5
    per_client: int = 30
    limit_window: timedelta = timedelta(hours=1)
    session_length: timedelta = timedelta(hours=12)
    # A code request is answered no sooner than this, so a known phone (its SMS sent) and an
    # unknown one (nothing sent) take the same time.
    answer_after: float = 1.0
    call_timeout: float = 5.0
    # A live page's idle event stream gets a comment this often (seconds), below the idle
    # timeouts of proxies in front (nginx: 60 s), so they keep it open.
    live_keep_alive: float = 15.0

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> ConsoleSettings:
        def local(service: str) -> str:
            return f"http://{settings.host}:{settings.ports[service]}"

        secret = env.get("HANDINHAND_CONSOLE_CODE_SECRET")
        if secret is not None and len(secret) < 32:
            raise ConfigError("HANDINHAND_CONSOLE_CODE_SECRET must be at least 32 characters")
        return cls(
            public_url=_url(env, "HANDINHAND_CONSOLE_URL", local("console")),
            scheduler_url=settings.url_of("scheduler"),
            volunteers_url=settings.url_of("volunteers"),
            notifications_url=settings.url_of("notifications"),
            code_secret=secret or persisted_secret(settings.var_dir, CODE_SECRET_FILE),
            per_phone=whole_number(env, "HANDINHAND_CONSOLE_CODES_PER_PHONE", 5, 1, 1000),
            per_client=whole_number(env, "HANDINHAND_CONSOLE_CODES_PER_CLIENT", 30, 1, 100000),
            session_length=timedelta(
                hours=whole_number(env, "HANDINHAND_CONSOLE_SESSION_HOURS", 12, 1, 720)
            ),
        )
