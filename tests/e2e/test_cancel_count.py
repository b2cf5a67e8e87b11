"""The cancel confirmation's count, across real processes: a volunteer who texted STOP will
get no SMS, so the console does not count them."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import httpx
import pytest

from bench.system import System
from tests.e2e.test_console import CSRF
from tests.e2e.test_flows import (
    RESIDENT,
    _texts,
    next_saturday,
    proposals,
    register_volunteers,
    schedule_session,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

COORDINATOR_PHONE = "+84912345700"
CODE = re.compile(r"\b(\d{6})\b")


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def _add_coordinator(system: System) -> None:
    added = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "services.cli",
            "account",
            "add",
            "--role",
            "coordinator",
            "--phone",
            COORDINATOR_PHONE,
            "--name",
            "Đỗ Thị Hạnh",
            "--scope",
            "15835",
        ],
        env=system.env(),
        capture_output=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr.decode()


async def _sign_in(system: System, browser: httpx.AsyncClient) -> None:
    asked = await browser.post(
        "/sign-in",
        data={"phone": COORDINATOR_PHONE, "_csrf_token": _csrf(await browser.get("/sign-in"))},
    )
    texts = await eventually(lambda: _texts(system, COORDINATOR_PHONE), bool, timeout=30)
    code = CODE.findall(texts[-1])[0]
    entered = await browser.post(
        "/sign-in/code",
        data={"phone": COORDINATOR_PHONE, "code": code, "_csrf_token": _csrf(asked)},
    )
    assert entered.status_code == 302, entered.text


async def test_a_volunteer_who_sent_stop_is_not_counted_among_those_a_cancellation_texts(
    system: System,
) -> None:
    await register_volunteers(system)
    session_id = await schedule_session(system, next_saturday())
    coming, asked = await proposals(system, 2)
    assert (await system.text(coming.to, "C")).status_code == 200
    assert (await system.text(coming.to, "STOP")).status_code == 200
    await eventually(
        lambda: _texts(system, coming.to),
        lambda texts: any("không nhận tin nhắn" in t for t in texts),
        timeout=30,
    )
    assert (await system.text(RESIDENT, "giup vneid Thieu Trung")).status_code == 200
    await eventually(
        lambda: _texts(system, RESIDENT),
        lambda texts: any("Bạn đã được hẹn" in t for t in texts),
        timeout=60,
    )
    await system.settled()
    await _add_coordinator(system)

    async with httpx.AsyncClient(base_url=system.url("console"), timeout=30) as browser:
        await _sign_in(system, browser)
        confirm = await browser.get(f"/sessions/{session_id}/cancel")

    # the resident and the volunteer still asked; not the one who accepted, then sent STOP
    assert asked.to != coming.to
    assert confirm.status_code == 200, confirm.text
    assert "2 người sẽ nhận tin nhắn SMS" in confirm.text
