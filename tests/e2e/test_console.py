"""The console as a newcomer meets it: `handinhand up --demo`, open the console URL `up`
printed, sign in as the demo coordinator with the code shown in the SMS log, see the weekend."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared.bus.server import free_port
from shared.settings import SERVICES

pytestmark = pytest.mark.e2e

CODE_IN_LOG = re.compile(r"sms to \+84\*+5699 .*Ma dang nhap HandInHand: (\d{6})")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def wait_for(lines: list[str], pattern: re.Pattern[str], up: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for line in list(lines):
            if found := pattern.search(line):
                return found.group(1) if found.groups() else found.group(0)
        if up.poll() is not None:
            raise AssertionError("`handinhand up --demo` exited early:\n" + "".join(lines))
        time.sleep(0.1)
    raise AssertionError(f"{pattern.pattern!r} not in the output:\n" + "".join(lines))


def csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def test_a_newcomer_signs_in_as_the_demo_coordinator_with_the_code_from_the_log(
    tmp_path: Path,
) -> None:
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
        lines.extend(line.decode(errors="replace") for line in up.stdout)

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        url = wait_for(lines, re.compile(r"console: (http://\S+) sign in"), up)
        with httpx.Client(base_url=url.rstrip("/"), timeout=30) as browser:
            asked = browser.post(
                "/sign-in",
                data={"phone": "0912 345 699", "_csrf_token": csrf(browser.get("/sign-in"))},
            )
            code = wait_for(lines, CODE_IN_LOG, up)
            signed_in = browser.post(
                "/sign-in/code",
                data={"phone": "+84912345699", "code": code, "_csrf_token": csrf(asked)},
            )
            weekends = [browser.get(f"/weekend?weeks={weeks}").text for weeks in (0, 1, 2)]
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
        reader.join(timeout=10)
        if up.stdout is not None:
            up.stdout.close()

    text = "".join(lines)
    assert up.returncode == 0, text
    assert asked.status_code == 200, asked.text
    assert signed_in.status_code == 302, signed_in.text
    assert any("Nhà văn hóa thôn 1" in page for page in weekends)  # the demo's sessions
    assert "Traceback" not in text, text
