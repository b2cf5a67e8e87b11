"""compose.yaml runs the production shape: PostgreSQL, a 3-node JetStream cluster, migrations
once, two instances of each service, health checks, and no secrets in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.settings import SERVICES

ROOT = Path(__file__).parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_has_the_infrastructure_and_two_instances_of_each_service() -> None:
    services = compose()["services"]

    expected = {"postgres", "nats-1", "nats-2", "nats-3", "migrate"} | {
        f"{name}-{i}" for name in SERVICES for i in (1, 2)
    }
    assert set(services) == expected


def test_every_long_running_container_has_a_healthcheck_and_an_image() -> None:
    for name, service in compose()["services"].items():
        assert "image" in service or "build" in service, name
        if name != "migrate":
            assert service["healthcheck"]["test"], name


def test_services_start_after_migrations_and_a_healthy_cluster() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in SERVICES:
        for i in (1, 2):
            service = services[f"{name}-{i}"]
            assert service["command"] == ["serve", name]
            depends = service["depends_on"]
            assert depends["migrate"]["condition"] == "service_completed_successfully"
            for node in ("nats-1", "nats-2", "nats-3"):
                assert depends[node]["condition"] == "service_healthy"
            env = service["environment"]
            assert env["HANDINHAND_STREAM_REPLICAS"] == "3"
            assert env["HANDINHAND_NATS_URL"].count("nats://") == 3


def test_jetstream_fsyncs_every_write_and_nodes_form_one_cluster() -> None:
    conf = (ROOT / "deploy" / "nats.conf").read_text()
    assert re.search(r"sync_interval:\s*always", conf)
    assert all(f"nats://nats-{i}:6222" in conf for i in (1, 2, 3))
    for i in (1, 2, 3):
        node = compose()["services"][f"nats-{i}"]
        assert any(volume.endswith(":/data") for volume in node["volumes"])


def test_no_secret_is_written_in_the_file() -> None:
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("SECRET", "PASSWORD", "KEYS")):
                assert str(value).startswith("${"), f"{name}.{key} must come from the environment"
            if password := re.search(r"://[^:/@]+:([^@]+)@", str(value)):
                assert password.group(1).startswith("${"), f"{name}.{key} holds a password"


def test_the_dockerfile_builds_the_image_the_services_run() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["handinhand"]' in dockerfile
    assert "requirements.lock" in dockerfile
