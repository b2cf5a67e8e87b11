"""Configuration from the environment: embedded defaults, external infrastructure, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import ConfigError, Settings


def test_defaults_to_embedded_nats_and_a_sqlite_file_per_service(tmp_path: Path) -> None:
    settings = Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)})

    assert settings.nats_url is None
    assert settings.database("scheduler").url == f"sqlite:///{tmp_path / 'scheduler.db'}"
    assert settings.database("notifications").url.endswith("notifications.db")
    assert len(settings.token_secret) >= 32
    # the secret is kept, so tokens survive a restart
    assert Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path)}).token_secret == (
        settings.token_secret
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
        ("HANDINHAND_LOG_LEVEL", "LOUD"),
        ("HANDINHAND_STREAM_REPLICAS", "9"),
    ],
)
def test_invalid_configuration_names_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({"HANDINHAND_VAR_DIR": str(tmp_path), variable: value})
