"""`handinhand up` as a newcomer runs it: embedded NATS, SQLite, three services, clean stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from shared.bus.server import free_port
from shared.settings import SERVICES

pytestmark = pytest.mark.e2e
CLIENT_IDLE_EXPIRY_S = 5.0  # httpx's default keepalive_expiry, and uvicorn's default keep-alive


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except OSError:
        return 0


def wait_for(predicate, timeout: float, process: subprocess.Popen[bytes]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"`handinhand up` exited early with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready within {timeout}s")
        time.sleep(0.1)


def assert_kept_alive_past_clients_idle_expiry(port: int) -> None:
    """A connection idle for longer than a client keeps it (httpx: 5 s) is still open, so a
    client never reuses one the server is closing at that instant (see KEEP_ALIVE_S)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() is not None
        first = connection.sock
        time.sleep(CLIENT_IDLE_EXPIRY_S + 1)  # the idle time itself is what is tested
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
        assert connection.sock is first  # the same connection, not a reconnect
    finally:
        connection.close()


@pytest.mark.parametrize("stop", ["sigterm", "ctrl-c"])
def test_up_starts_everything_and_stops_cleanly(tmp_path: Path, stop: str) -> None:
    ports = {service: free_port() for service in SERVICES}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")},
        "HANDINHAND_VAR_DIR": str(tmp_path / "var"),
        "HANDINHAND_EMBEDDED_NATS_PORT": str(free_port()),
        **{f"HANDINHAND_{s.upper()}_PORT": str(p) for s, p in ports.items()},
    }
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a process group of its own, as at a terminal
    )
    try:
        wait_for(
            lambda: all(
                http_status(f"http://127.0.0.1:{port}/readyz") == 200 for port in ports.values()
            ),
            60,
            up,
        )
        for service, port in ports.items():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/schema/openapi.json") as r:
                assert json.load(r)["info"]["title"] == f"HandInHand {service}"
        assert (tmp_path / "var" / "scheduler.db").exists()
        assert (tmp_path / "var" / "nats").is_dir()
        # A newcomer plays a resident: the webhook secret `up` made signs the SMS.
        resident = subprocess.run(
            [sys.executable, "-m", "services.cli", "sms", "from", "+84912345678", "HUY"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert resident.returncode == 0, resident.stderr.decode()
        assert (tmp_path / "var" / "sms-webhook-secret").exists()
        if stop == "sigterm":  # once is enough: it waits out uvicorn's default keep-alive
            assert_kept_alive_past_clients_idle_expiry(ports["scheduler"])
    finally:
        if stop == "ctrl-c":  # the terminal signals every process of the foreground group
            os.killpg(up.pid, signal.SIGINT)
        else:
            up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)

    text = output.decode()
    assert up.returncode == 0, text
    # Services stop before the NATS server they use: no errors on the way out.
    assert "Traceback" not in text, text
    assert " ERROR " not in text, text
    for service, port in ports.items():
        if service == "console":  # pages, to open in a browser
            assert f"http://127.0.0.1:{port}  (open it in a browser" in text
        else:
            assert f"http://127.0.0.1:{port}/schema/openapi.json" in text  # JSON and the page
            assert f"http://127.0.0.1:{port}/schema)" in text
        assert http_status(f"http://127.0.0.1:{port}/healthz") == 0  # stopped
    assert text.rstrip().endswith("stopped")


def test_invalid_configuration_stops_start_up_with_one_line_naming_the_variable(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "up"],
        env={**os.environ, "HANDINHAND_VAR_DIR": str(tmp_path), "HANDINHAND_NATS_URL": "http://x"},
        capture_output=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "HANDINHAND_NATS_URL" in lines[0]


def test_token_mints_a_bearer_token_the_services_accept(tmp_path: Path) -> None:
    env = {**os.environ, "HANDINHAND_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "token",
            "--role",
            "coordinator",
            "--scope",
            "15835",
        ],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    from shared.clock import SystemClock
    from shared.settings import Settings
    from shared.web.auth import Role, read_token
    from shared.web.revocations import Revocations

    keys = Settings.from_env(env).token_keys
    token = result.stdout.decode().strip()
    caller = read_token(keys, Revocations(), token, SystemClock().now())
    assert caller.role is Role.COORDINATOR
    assert caller.scope == ("15835",)


def test_token_signs_with_the_first_key_of_the_ring_and_lists_key_ids_only(
    tmp_path: Path,
) -> None:
    ring = f"2026-12:{'n' * 40},2026-06:{'o' * 40}"
    env = {**os.environ, "HANDINHAND_VAR_DIR": str(tmp_path), "HANDINHAND_TOKEN_KEYS": ring}
    command = [sys.executable, "-m", "services.cli", "token"]
    minted = subprocess.run(
        [*command, "--role", "volunteer", "--sub", "hoa", "--volunteer-id", "v-7", "--hours", "2"],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    listed = subprocess.run(
        [*command, "--list-keys"], env=env, capture_output=True, check=True, timeout=60
    )
    import jwt

    token = minted.stdout.decode().strip()
    claims = jwt.decode(token, "n" * 40, algorithms=["HS256"], issuer="handinhand")
    assert jwt.get_unverified_header(token)["kid"] == "2026-12"
    assert (claims["sub"], claims["role"], claims["volunteer_id"]) == ("hoa", "volunteer", "v-7")
    assert claims["exp"] - claims["iat"] == 2 * 3600
    assert listed.stdout.decode().splitlines() == ["2026-12 (signs)", "2026-06 (verifies)"]


def test_places_import_loads_all_rows_or_reports_every_bad_one(tmp_path: Path) -> None:
    env = {**os.environ, "HANDINHAND_VAR_DIR": str(tmp_path / "var")}
    subprocess.run(
        [sys.executable, "-m", "services.cli", "migrate", "scheduler"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,kind,parent\n15835-90,Thôn Mới,village,15835\n15835-91,,castle,99999\n"
    )
    good = tmp_path / "good.csv"
    good.write_text("code,name,kind,parent\n15835-90,Thôn Mới,village,15835\n")

    refused = subprocess.run(
        [sys.executable, "-m", "services.cli", "places", "import", str(bad)],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    imported = subprocess.run(
        [sys.executable, "-m", "services.cli", "places", "import", str(good)],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
    )

    assert refused.returncode == 1
    assert "line 3:" in refused.stderr.decode()
    assert "nothing imported" in refused.stderr.decode()
    assert imported.returncode == 0, imported.stderr.decode()
    assert "imported 1 places in communes 15835" in imported.stdout.decode()


def test_up_demo_writes_its_sms_in_the_console_within_seconds_at_any_hour(tmp_path: Path) -> None:
    ports = {service: free_port() for service in SERVICES}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")},
        "HANDINHAND_VAR_DIR": str(tmp_path / "var"),
        "HANDINHAND_EMBEDDED_NATS_PORT": str(free_port()),
        **{f"HANDINHAND_{s.upper()}_PORT": str(p) for s, p in ports.items()},
    }
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--demo"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[str] = []

    def collect() -> None:
        assert up.stdout is not None
        lines.extend(line.decode(errors="replace") for line in up.stdout)  # as they come

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        # 3 booking confirmations and 4 invitations, whatever the time of day (quiet hours off).
        wait_for(lambda: sum("sms to" in line for line in lines) >= 7, 60, up)
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
        reader.join(timeout=10)
        if up.stdout is not None:
            up.stdout.close()
    text = "".join(lines)
    assert up.returncode == 0, text
    assert "Bạn đã được hẹn" in text
