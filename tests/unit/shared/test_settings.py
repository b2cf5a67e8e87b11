"""Configuration from the environment: embedded defaults, external infrastructure, clear errors."""

from __future__ import annotations

import base64
import stat
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from shared.settings import ConfigError, Settings, flag, number, whole_number

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def test_defaults_to_embedded_nats_and_a_sqlite_file_per_service(tmp_path: Path) -> None:
    settings = Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)})

    assert settings.nats_url is None
    assert settings.database("scheduler").url == f"sqlite:///{tmp_path / 'scheduler.db'}"
    assert settings.database("notifications").url.endswith("notifications.db")
    assert len(settings.token_keys.signer.secret) >= 32
    # the secret is kept, so tokens survive a restart
    assert Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)}).token_keys == (
        settings.token_keys
    )


def test_external_nats_and_postgresql_switch_per_service(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "HANDINHAND_VAR_DIR": str(tmp_path),
            "HANDINHAND_NATS_URL": "nats://nats-1:4222",
            "HANDINHAND_VOLUNTEERS_DATABASE_URL": "postgresql://app@db/handinhand",
        }
    )

    assert settings.nats_url == "nats://nats-1:4222"
    assert settings.database("volunteers").url == "postgresql://app@db/handinhand"
    assert settings.database("volunteers").schema == "volunteers"
    assert settings.database("scheduler").url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HANDINHAND_NATS_URL", "http://nats:4222"),
        ("HANDINHAND_SCHEDULER_DATABASE_URL", "mysql://db/x"),
        ("HANDINHAND_VOLUNTEERS_DATABASE_URL", "not a url"),
        ("HANDINHAND_NOTIFICATIONS_PORT", "eighty"),
        ("HANDINHAND_SCHEDULER_PORT", "70000"),
        ("HANDINHAND_TOKEN_SECRET", "short"),
        ("HANDINHAND_TOKEN_KEYS", "k1:short"),
        ("HANDINHAND_TOKEN_KEYS", "no-colon-" + "x" * 40),
        ("HANDINHAND_TOKEN_KEYS", f"k1:{'a' * 40},k1:{'b' * 40}"),
        ("HANDINHAND_DATA_KEYS", "no-colon"),
        ("HANDINHAND_DATA_KEYS", "k1:not base64!"),
        ("HANDINHAND_DATA_KEYS", f"k1:{base64.b64encode(b'x' * 16).decode()}"),
        ("HANDINHAND_DATA_KEYS", f"k1:{KEY_A},k1:{KEY_B}"),
        ("HANDINHAND_DATA_KEYS", f"k 1:{KEY_A}"),
        ("HANDINHAND_LOG_LEVEL", "LOUD"),
        ("HANDINHAND_STREAM_REPLICAS", "9"),
        ("HANDINHAND_FORWARDED_ALLOW_IPS", "10.0.0.1, proxy.local"),
    ],
)
def test_invalid_configuration_names_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path), variable: value})


def test_no_proxy_is_trusted_unless_named(tmp_path: Path) -> None:
    unset = Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)})
    named = Settings.from_env(
        {
            "HANDINHAND_VAR_DIR": str(tmp_path),
            "HANDINHAND_FORWARDED_ALLOW_IPS": "10.0.0.1, 10.1.0.0/16",
        }
    )
    assert unset.forwarded_allow_ips == ()
    assert named.forwarded_allow_ips == ("10.0.0.1", "10.1.0.0/16")


@pytest.mark.parametrize(
    ("read", "raw", "said"),
    [
        (lambda env: whole_number(env, "HANDINHAND_X", 1, 1, 9), "two", "a whole number"),
        (lambda env: whole_number(env, "HANDINHAND_X", 1, 1, 9), "10", "between 1 and 9"),
        (lambda env: number(env, "HANDINHAND_X", 1.0, 0.5, 2.0), "fast", "a number"),
        (lambda env: number(env, "HANDINHAND_X", 1.0, 0.5, 2.0, unit="seconds"), "3", "seconds"),
        (lambda env: flag(env, "HANDINHAND_X", default=False), "maybe", "true or false"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(
    read: Callable[[Mapping[str, str]], object], raw: str, said: str
) -> None:
    with pytest.raises(ConfigError, match="HANDINHAND_X") as refused:
        read({"HANDINHAND_X": raw})
    assert said in str(refused.value)
    assert repr(raw) in str(refused.value) or raw in str(refused.value)


def test_an_unset_or_empty_value_takes_the_default() -> None:
    assert whole_number({}, "HANDINHAND_X", 3, 1, 9) == 3
    assert whole_number({"HANDINHAND_X": " "}, "HANDINHAND_X", 3, 1, 9) == 3
    assert number({"HANDINHAND_X": ""}, "HANDINHAND_X", 1.5, 0.5, 2.0) == 1.5
    assert flag({}, "HANDINHAND_X", default=True) is True
    assert number({"HANDINHAND_X": " 0.75 "}, "HANDINHAND_X", 1.5, 0.5, 2.0) == 0.75
    assert flag({"HANDINHAND_X": "yes"}, "HANDINHAND_X", default=False) is True


def test_a_key_ring_signs_with_its_first_key_and_wins_over_a_lone_secret(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        {
            "HANDINHAND_VAR_DIR": str(tmp_path),
            "HANDINHAND_TOKEN_SECRET": "s" * 40,
            "HANDINHAND_TOKEN_KEYS": f"2026-12:{'n' * 40}, 2026-06:{'o' * 40}",
        }
    )

    assert [key.kid for key in settings.token_keys.keys] == ["2026-12", "2026-06"]
    assert settings.token_keys.signer.secret == "n" * 40


def test_a_lone_secret_is_a_ring_of_one_whose_kid_every_instance_derives_alike(
    tmp_path: Path,
) -> None:
    env = {"HANDINHAND_VAR_DIR": str(tmp_path), "HANDINHAND_TOKEN_SECRET": "s" * 40}

    keys = Settings.from_env(env).token_keys

    assert keys == Settings.from_env(env).token_keys
    assert len(keys.keys) == 1
    assert "s" * 8 not in keys.signer.kid
    assert "s" * 8 not in repr(keys)


def test_data_keys_default_to_a_ring_of_one_made_once_under_var(tmp_path: Path) -> None:
    keys = Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)}).data_keys

    assert [key.kid for key in keys.keys] == ["local"]
    assert len(keys.wrapper.key) == 32
    # kept, so the data keys wrapped by it still unwrap after a restart; readable by its owner only
    assert Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)}).data_keys == keys
    assert stat.S_IMODE((tmp_path / "data-keys").stat().st_mode) == 0o600
    assert KEY_A[:8] not in repr(keys)


def test_a_data_key_ring_wraps_with_its_first_key_and_unwraps_with_all(tmp_path: Path) -> None:
    keys = Settings.from_env(
        {
            "HANDINHAND_VAR_DIR": str(tmp_path),
            "HANDINHAND_DATA_KEYS": f"2026-12:{KEY_A}, old:{KEY_B}",
        }
    ).data_keys

    assert keys.wrapper.kid == "2026-12"
    assert keys.wrapper.key == b"a" * 32
    key_of_old = keys.key_of("old")
    assert key_of_old is not None
    assert key_of_old.key == b"b" * 32
    assert not (tmp_path / "data-keys").exists()  # nothing made when the ring is set


def test_retention_defaults_and_its_settings(tmp_path: Path) -> None:
    default = Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)}).retention
    chosen = Settings.from_env(
        {
            "HANDINHAND_VAR_DIR": str(tmp_path),
            "HANDINHAND_RETENTION": "off",
            "HANDINHAND_RESIDENT_RETENTION_MONTHS": "24",
            "HANDINHAND_SMS_TEXT_RETENTION_DAYS": "90",
            "HANDINHAND_UNMATCHED_SMS_RETENTION_DAYS": "2",
            "HANDINHAND_RETENTION_BATCH": "100",
            "HANDINHAND_STREAM_MAX_AGE_DAYS": "14",
        }
    ).retention

    assert (default.runs, default.resident_months, default.sms_text_days) == (True, 12, 30)
    assert (default.unmatched_sms_days, default.batch) == (7, 500)
    assert default.stream_max_age("scheduler") == timedelta(days=30)
    # the console's stream holds the revocations every instance replays: past the longest token
    assert default.stream_max_age("console") == timedelta(days=400)
    assert (chosen.runs, chosen.resident_months, chosen.sms_text_days) == (False, 24, 90)
    assert (chosen.unmatched_sms_days, chosen.batch) == (2, 100)
    assert chosen.stream_max_age("notifications") == timedelta(days=14)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HANDINHAND_RESIDENT_RETENTION_MONTHS", "0"),
        ("HANDINHAND_SMS_TEXT_RETENTION_DAYS", "a month"),
        ("HANDINHAND_CONSOLE_STREAM_MAX_AGE_DAYS", "30"),  # shorter than a token may live
        ("HANDINHAND_RETENTION", "sometimes"),
    ],
)
def test_a_bad_retention_setting_is_refused_naming_it(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path), name: value})
