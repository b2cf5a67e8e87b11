"""Where the webhook secret comes from: the environment, the Twilio token, or first start."""

from __future__ import annotations

import stat
from pathlib import Path

from services.notifications.settings import WEBHOOK_SECRET_FILE, NotificationSettings

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
