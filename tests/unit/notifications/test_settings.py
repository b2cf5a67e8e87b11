"""The SMS settings read from the environment: the look-up of an interrupted send, the lease,
the provider's timeout, and where the webhook secret comes from (the environment, the Twilio
token, or first start)."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from services.notifications.settings import WEBHOOK_SECRET_FILE, NotificationSettings
from shared.settings import ConfigError

GATEWAY = {
    "HANDINHAND_SMS_PROVIDER": "http_json",
    "HANDINHAND_SMS_HTTP_URL": "https://gw.example/send",
    "HANDINHAND_SMS_HTTP_MESSAGE_ID_FIELD": "ref",
}


def test_a_gateway_lookup_is_read_from_the_environment() -> None:
    settings = NotificationSettings.from_env(
        GATEWAY
        | {
            "HANDINHAND_SMS_HTTP_LOOKUP_URL": "https://gw.example/status?ref={message_id}",
            "HANDINHAND_SMS_HTTP_LOOKUP_FOUND_PATH": "data.state",
            "HANDINHAND_SMS_HTTP_LOOKUP_FOUND_VALUES": "SENT, DELIVERED",
            "HANDINHAND_SMS_HTTP_LOOKUP_MISSING_VALUES": "UNKNOWN",
            "HANDINHAND_SMS_HTTP_LOOKUP_ID_PATH": "data.smsId",
        }
    )
    config = settings.http_json
    assert config is not None
    assert config.lookup_url == "https://gw.example/status?ref={message_id}"
    assert config.lookup_found_path == "data.state"
    assert config.lookup_found_values == ("SENT", "DELIVERED")
    assert config.lookup_missing_values == ("UNKNOWN",)
    assert config.lookup_id_path == "data.smsId"


def test_without_a_lookup_the_gateway_says_true_or_false_at_found() -> None:
    config = NotificationSettings.from_env(GATEWAY).http_json
    assert config is not None
    assert config.lookup_url is None
    assert (config.lookup_found_path, config.lookup_found_values) == ("found", ("true",))
    assert config.lookup_missing_values == ("false",)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"HANDINHAND_SMS_HTTP_LOOKUP_URL": "https://gw.example/status"}, "LOOKUP_URL"),
        (
            {
                "HANDINHAND_SMS_HTTP_MESSAGE_ID_FIELD": "",
                "HANDINHAND_SMS_HTTP_LOOKUP_URL": "https://gw.example/s/{message_id}",
            },
            "LOOKUP_URL",
        ),
        ({"HANDINHAND_SMS_HTTP_LOOKUP_URL": "gw.example/{message_id}"}, "LOOKUP_URL"),
        ({"HANDINHAND_SMS_LEASE_SECONDS": "soon"}, "LEASE_SECONDS"),
        ({"HANDINHAND_SMS_LEASE_SECONDS": "15"}, "at least twice"),
        ({"HANDINHAND_SMS_PROVIDER_TIMEOUT_SECONDS": "0"}, "PROVIDER_TIMEOUT_SECONDS"),
        ({"HANDINHAND_SMS_MAX_LOOKUPS": "0"}, "MAX_LOOKUPS"),
    ],
)
def test_a_wrong_value_names_its_variable(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        NotificationSettings.from_env(GATEWAY | changes)


def test_the_lease_the_timeout_and_the_lookups_can_be_tuned() -> None:
    settings = NotificationSettings.from_env(
        {
            "HANDINHAND_SMS_LEASE_SECONDS": "6",
            "HANDINHAND_SMS_PROVIDER_TIMEOUT_SECONDS": "2.5",
            "HANDINHAND_SMS_MAX_LOOKUPS": "3",
        }
    )
    assert settings.lease == timedelta(seconds=6)
    assert settings.provider_timeout == 2.5
    assert settings.lookups.max_attempts == 3
    assert NotificationSettings.from_env({}).lease == timedelta(seconds=60)


def test_a_lease_too_short_for_the_rate_limits_wait_is_refused() -> None:
    slow = {"HANDINHAND_SMS_RATE": "0.5"}  # 32 calls wait up to 64 s for their tokens
    with pytest.raises(ConfigError, match="HANDINHAND_SMS_RATE"):
        NotificationSettings.from_env(slow)
    settings = NotificationSettings.from_env(slow | {"HANDINHAND_SMS_LEASE_SECONDS": "120"})
    assert settings.call_margin == timedelta(seconds=10 + 1 + 64)


TWILIO = {
    "HANDINHAND_SMS_PROVIDER": "twilio",
    "HANDINHAND_TWILIO_ACCOUNT_SID": "AC1",
    "HANDINHAND_TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "HANDINHAND_TWILIO_FROM": "+15005550006",
}


def test_a_webhook_secret_is_made_on_first_start_and_kept(tmp_path: Path) -> None:
    first = NotificationSettings.from_env({}, tmp_path)
    again = NotificationSettings.from_env({}, tmp_path)

    assert first.webhook_token
    assert len(first.webhook_token) >= 32
    assert again.webhook_token == first.webhook_token
    kept = tmp_path / WEBHOOK_SECRET_FILE
    assert kept.read_text() == first.webhook_token
    assert stat.S_IMODE(kept.stat().st_mode) & 0o077 == 0  # the owner's alone


def test_a_configured_secret_wins_and_nothing_is_written(tmp_path: Path) -> None:
    given = NotificationSettings.from_env({"HANDINHAND_SMS_WEBHOOK_TOKEN": "given"}, tmp_path)
    twilio = NotificationSettings.from_env(TWILIO, tmp_path)

    assert given.webhook_token == "given"
    assert twilio.webhook_token == "twilio-auth-token"  # Twilio signs with its auth token
    assert not (tmp_path / WEBHOOK_SECRET_FILE).exists()


def test_without_a_place_to_keep_one_no_secret_is_invented() -> None:
    assert NotificationSettings.from_env({}).webhook_token is None
