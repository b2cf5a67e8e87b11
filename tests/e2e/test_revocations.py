"""A revoked API token across real processes (two instances of every service on one NATS): an
admin issues it on the console's page, every instance takes it; the admin revokes it, every
instance refuses it; an instance restarted afterwards refuses it from its first ready moment,
having replayed the revocation before it said it was ready."""

from __future__ import annotations

import asyncio
import html
import re
import subprocess
import sys

import httpx
import jwt
import pytest

from bench.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

ADMIN_PHONE = "+84912000001"
CLI = (sys.executable, "-m", "services.cli")
THIEU_TRUNG = "15835"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
CODE = re.compile(r"\b(\d{6})\b")
ISSUED = re.compile(r'<textarea id="issued-token"[^>]*>([^<]+)</textarea>')
# A read each service guards with a bearer token.
PROBES = {
    "scheduler": f"/sessions?commune={THIEU_TRUNG}",
    "volunteers": f"/communes/{THIEU_TRUNG}/groups",
    "notifications": "/messages",
}


async def csrf(browser: httpx.AsyncClient, path: str) -> str:
    found = CSRF.search((await browser.get(path)).text)
    assert found is not None
    return found.group(1)


async def signed_in_admin(system: System, browser: httpx.AsyncClient) -> None:
    """As an operator does: `handinhand account add`, then the SMS code at the console."""
    added = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "account", "add", "--role", "admin", "--phone", ADMIN_PHONE, "--name", "Quản trị"],
        env=system.env(),
        capture_output=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr.decode()
    asked = await browser.post(
        "/sign-in", data={"phone": ADMIN_PHONE, "_csrf_token": await csrf(browser, "/sign-in")}
    )
    assert asked.status_code == 200, asked.text

    async def code() -> list[str]:
        return [m for sms in system.sent(to=ADMIN_PHONE) for m in CODE.findall(sms.body)]

    [sent] = await eventually(code, bool, timeout=30)
    entered = await browser.post(
        "/sign-in/code",
        data={"phone": ADMIN_PHONE, "code": sent, "_csrf_token": await csrf(browser, "/sign-in")},
    )
    assert entered.status_code == 302, entered.text


async def statuses(system: System, token: str) -> dict[str, int]:
    """What each instance of each service answers to the token."""
    auth = {"Authorization": f"Bearer {token}"}
    found = {}
    for service, path in PROBES.items():
        for instance in system.alive(service):
            answer = await system.call("GET", service, path, auth=auth, instance=instance)
            found[f"{service}-{instance}"] = answer.status_code
    return found


async def test_a_token_revoked_on_the_console_is_refused_by_every_instance_even_a_restarted_one(
    doubled: System,
) -> None:
    async with httpx.AsyncClient(base_url=doubled.url("console"), timeout=10) as browser:
        await signed_in_admin(doubled, browser)
        issued = await browser.post(
            "/tokens",
            data={
                "label": "Cổng báo cáo huyện",
                "role": "coordinator",
                "scope": THIEU_TRUNG,
                "days": "7",
                "_csrf_token": await csrf(browser, "/tokens"),
            },
        )
        found = ISSUED.search(issued.text)
        assert found is not None, issued.text
        token = html.unescape(found.group(1)).strip()
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        before = await statuses(doubled, token)

        revoked = await browser.post(
            f"/tokens/{jti}/revoke",
            data={"reason": "e2e", "_csrf_token": await csrf(browser, f"/tokens/{jti}/revoke")},
        )
        after = await eventually(
            lambda: statuses(doubled, token),
            lambda found: all(status == 401 for status in found.values()),
            timeout=30,
        )
        problem = await doubled.call(
            "GET", "scheduler", PROBES["scheduler"], auth={"Authorization": f"Bearer {token}"}
        )

    doubled.kill("scheduler", 0)
    await doubled.restart("scheduler", 0)  # returns at its first ready answer
    first_ready = await doubled.call(
        "GET",
        "scheduler",
        PROBES["scheduler"],
        auth={"Authorization": f"Bearer {token}"},
        instance=0,
    )

    assert issued.status_code == 200
    assert set(before) == {f"{s}-{n}" for s in PROBES for n in (0, 1)}
    assert set(before.values()) == {200}, before
    assert revoked.status_code == 302
    assert len(after) == 6
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert "revoked" in problem.json()["detail"]
    assert first_ready.status_code == 401
    assert "revoked" in first_ready.json()["detail"]
