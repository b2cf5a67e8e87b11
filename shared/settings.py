"""Configuration, read once from the environment by the entrypoint and passed down."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shared.personal.masterkeys import KEY_BYTES, MasterKeyError, MasterKeys
from shared.tokenkeys import TokenKeyError, TokenKeys

SERVICES = ("scheduler", "volunteers", "notifications", "console")
DEFAULT_PORTS = {"scheduler": 8001, "volunteers": 8002, "notifications": 8003, "console": 8004}


class ConfigError(ValueError):
    """A setting is wrong; the message names the environment variable."""


class Database(msgspec.Struct, frozen=True, kw_only=True):
    """Where one service keeps its data: a PostgreSQL schema or a SQLite file."""

    url: str
    schema: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """How long personal data is kept, and how long the JetStream streams keep messages: each
    service's daily retention timer reads what concerns it (docs/operations.md, "Retention")."""

    # HANDINHAND_RETENTION: off pauses every retention run (a legal hold); the streams keep
    # their max_age either way.
    runs: bool = True
    # A resident (one help request) is erased this many months after they were last seen: the
    # latest of the requests from their phone and the sessions or home visits booked on them.
    resident_months: int = 12
    # SMS texts in the notifications' read models are blanked after this many days; the
    # delivery facts (status, times, kind, provider ids) stay.
    sms_text_days: int = 30
    # The answer to an inbound SMS that matched nothing (its text and number) after this many.
    unmatched_sms_days: int = 7
    # At most this many residents (or SMS) per run; more due: the timer fires again soon.
    batch: int = 500
    # JetStream max_age of the scheduler's, volunteers' and notifications' streams: longer
    # than any consumer may be away (shared/bus/streams.py says what the consumers need).
    stream_max_age_days: int = 30
    # The console's stream: every instance replays the token revocations in it at start, so
    # it keeps them longer than the longest-lived token (365 days from the console).
    console_stream_max_age_days: int = 400

    def stream_max_age(self, source: str) -> timedelta:
        days = self.console_stream_max_age_days if source == "console" else self.stream_max_age_days
        return timedelta(days=days)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        return cls(
            runs=flag(env, "HANDINHAND_RETENTION", default=True),
            resident_months=whole_number(env, "HANDINHAND_RESIDENT_RETENTION_MONTHS", 12, 1, 120),
            sms_text_days=whole_number(env, "HANDINHAND_SMS_TEXT_RETENTION_DAYS", 30, 1, 3650),
            unmatched_sms_days=whole_number(
                env, "HANDINHAND_UNMATCHED_SMS_RETENTION_DAYS", 7, 1, 365
            ),
            batch=whole_number(env, "HANDINHAND_RETENTION_BATCH", 500, 10, 10_000),
            stream_max_age_days=whole_number(env, "HANDINHAND_STREAM_MAX_AGE_DAYS", 30, 1, 3650),
            console_stream_max_age_days=whole_number(
                env, "HANDINHAND_CONSOLE_STREAM_MAX_AGE_DAYS", 400, 366, 3650
            ),
        )


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    var_dir: Path
    databases: dict[str, Database]
    token_keys: TokenKeys
    # HANDINHAND_DATA_KEYS: the master keys that wrap each person's data key (shared/personal)
    data_keys: MasterKeys
    nats_url: str | None = None  # None: start the embedded nats-server
    host: str = "127.0.0.1"
    ports: dict[str, int] = msgspec.field(default_factory=lambda: dict(DEFAULT_PORTS))
    stream_replicas: int = 1
    log_level: str = "INFO"
    log_json: bool = True
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or
    # networks, "*" for any); empty: nobody's, so a client cannot pick its own address.
    forwarded_allow_ips: tuple[str, ...] = ()
    # HANDINHAND_<SERVICE>_URL: where a service's HTTP API answers for the others (the console,
    # and a service asking an owner for data keys); unset: this host and the service's port.
    service_urls: dict[str, str] = msgspec.field(default_factory=dict)
    retention: Retention = msgspec.field(default_factory=Retention)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("HANDINHAND_VAR_DIR", "var")).resolve()
        databases = {service: _database(env, service, var_dir) for service in SERVICES}
        nats_url = env.get("HANDINHAND_NATS_URL") or None
        if nats_url is not None and not nats_url.startswith(("nats://", "tls://")):
            raise ConfigError("HANDINHAND_NATS_URL must start with nats:// or tls://")
        ports = {
            service: whole_number(env, f"HANDINHAND_{service.upper()}_PORT", default, 1, 65535)
            for service, default in DEFAULT_PORTS.items()
        }
        level = env.get("HANDINHAND_LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("HANDINHAND_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return cls(
            var_dir=var_dir,
            databases=databases,
            token_keys=_token_keys(env, var_dir),
            data_keys=_data_keys(env, var_dir),
            nats_url=nats_url,
            host=env.get("HANDINHAND_HOST", "127.0.0.1"),
            ports=ports,
            stream_replicas=whole_number(env, "HANDINHAND_STREAM_REPLICAS", 1, 1, 5),
            log_level=level,
            log_json=env.get("HANDINHAND_LOG_FORMAT", "json") != "text",
            forwarded_allow_ips=_trusted_proxies(env),
            service_urls=_service_urls(env),
            retention=Retention.from_env(env),
        )

    def database(self, service: str) -> Database:
        return self.databases[service]

    def url_of(self, service: str) -> str:
        """Where `service`'s HTTP API answers (no trailing slash)."""
        return self.service_urls.get(service) or f"http://{self.host}:{self.ports[service]}"


def _service_urls(env: Mapping[str, str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for service in ("scheduler", "volunteers", "notifications"):
        name = f"HANDINHAND_{service.upper()}_URL"
        value = env.get(name, "").strip()
        if not value:
            continue
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://, got {value!r}")
        urls[service] = value.rstrip("/")
    return urls


def _trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """HANDINHAND_FORWARDED_ALLOW_IPS: addresses or networks, separated by commas, or "*"."""
    name = "HANDINHAND_FORWARDED_ALLOW_IPS"
    found = tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())
    for part in found:
        if part == "*":
            continue
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not an IP address or network") from None
    return found


def _database(env: Mapping[str, str], service: str, var_dir: Path) -> Database:
    name = f"HANDINHAND_{service.upper()}_DATABASE_URL"
    url = env.get(name)
    if not url:
        return Database(url=f"sqlite:///{var_dir / f'{service}.db'}", schema=service)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{name} is not a database URL") from None
    if parsed.get_backend_name() not in {"postgresql", "sqlite"}:
        raise ConfigError(f"{name} must be a postgresql:// or sqlite:/// URL")
    schema = env.get(f"HANDINHAND_{service.upper()}_DATABASE_SCHEMA", service)
    if not schema.isidentifier():
        raise ConfigError(f"HANDINHAND_{service.upper()}_DATABASE_SCHEMA must be an identifier")
    return Database(url=url, schema=schema)


# One reader per kind of value, shared by every service's settings: an unset or empty variable
# takes the default; a bad value raises ConfigError naming the variable and what it got.
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def whole_number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float, *, unit: str = ""
) -> float:
    """A number, e.g. of seconds (`unit="seconds"`, said in the error)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    of = f" of {unit}" if unit else ""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number{of}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(
            f"{name} must be between {low:g} and {high:g}{' ' + unit if unit else ''}, got {raw!r}"
        )
    return value


def flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    """true/false (also 1/0, yes/no, on/off); unset: the default, set but empty: false."""
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _token_keys(env: Mapping[str, str], var_dir: Path) -> TokenKeys:
    """HANDINHAND_TOKEN_KEYS when set (it wins); else the lone HANDINHAND_TOKEN_SECRET of
    deployments before key ids, else the secret made under var/ on first start."""
    ring = env.get("HANDINHAND_TOKEN_KEYS", "").strip()
    name = "HANDINHAND_TOKEN_KEYS" if ring else "HANDINHAND_TOKEN_SECRET"
    try:
        if ring:
            return TokenKeys.parse(ring)
        secret = env.get("HANDINHAND_TOKEN_SECRET")
        return TokenKeys.of_one_secret(
            persisted_secret(var_dir, "token-secret") if secret is None else secret
        )
    except TokenKeyError as error:
        raise ConfigError(f"{name}: {error}") from None


def _data_keys(env: Mapping[str, str], var_dir: Path) -> MasterKeys:
    """HANDINHAND_DATA_KEYS when set; else a ring of one made under var/ on first start."""
    ring = env.get("HANDINHAND_DATA_KEYS", "").strip()
    try:
        return MasterKeys.parse(ring or persisted_secret(var_dir, DATA_KEYS_FILE, _new_data_key))
    except MasterKeyError as error:
        raise ConfigError(f"HANDINHAND_DATA_KEYS: {error}") from None


DATA_KEYS_FILE = "data-keys"


def _new_data_key() -> str:
    # "local": the kid an operator keeps in the ring while rewrapping away from this key.
    return MasterKeys.new_entry("local", secrets.token_bytes(KEY_BYTES))


def persisted_secret(
    var_dir: Path, name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(48)
) -> str:
    """Embedded default for a secret nobody set: one per installation, made on first start
    and kept beside the SQLite files (owner-only), so every process of `up` reads the same."""
    path = var_dir / name
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Exclusive create: of two processes starting at once, one writes, both read its value.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(make())
    return path.read_text().strip()
