"""API tokens in a real browser against the whole system: an admin issues one (shown once),
an integration uses it against the scheduler's API, the admin revokes it after a confirmation
and the same call is a 401 problem; a token minted with `handinhand token` is revoked by
pasting it. axe checks each page; the pages seen are saved for docs/console.md."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import httpx
import pytest
from playwright.async_api import Page, expect

from bench.system import System
from tests.browser.accessibility import assert_accessible
from tests.browser.console import THIEU_TRUNG, add_account, sign_in
from tests.browser.screenshots import save_screenshots
from tests.support.waiting import eventually

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    # one worker runs this module, so its system starts once
    pytest.mark.xdist_group("browser-tokens"),
]

SESSIONS = f"/sessions?commune={THIEU_TRUNG}"
CLI = (sys.executable, "-m", "services.cli")


async def scheduler_answer(system: System, token: str) -> httpx.Response:
    """What an integration holding `token` gets from the scheduler's API."""
    async with httpx.AsyncClient(base_url=system.url("scheduler")) as client:
        return await client.get(SESSIONS, headers={"Authorization": f"Bearer {token}"})


async def refused(system: System, token: str) -> httpx.Response:
    answer = await eventually(
        lambda: scheduler_answer(system, token), lambda r: r.status_code == 401
    )
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "revoked" in answer.json()["detail"]
    return answer


async def test_an_admin_issues_a_token_an_integration_uses_and_the_admin_revokes(
    page: Page, system: System
) -> None:
    admin = "+84912000301"
    await add_account(system, "admin", admin, "Quản trị")
    await sign_in(page, system, admin)
    await page.click("nav a[href='/tokens']")
    form = page.locator("#issue-token-form")

    await form.locator("#days").fill("400")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#label-error")).to_be_visible()
    await expect(page.locator("#lifetime_days-error")).to_be_visible()
    await expect(page.locator("#days")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#issued-token")).to_have_count(0)
    await assert_accessible(page)
    await save_screenshots(page, "tokens-errors")
    await form.locator("#label").fill("Cổng SMS xã Thiệu Trung")
    await form.locator("#role").select_option("coordinator")
    await form.locator("#scope").fill(THIEU_TRUNG)
    await form.locator("#days").fill("30")
    await form.locator("button[type=submit]").click()

    shown = page.locator("#issued-token")
    await expect(shown).to_be_visible()
    await expect(page.locator("#issued-hint")).to_contain_text("chỉ hiện một lần")
    token = (await shown.input_value()).strip()
    await assert_accessible(page)
    await save_screenshots(page, "tokens-issued")
    taken = await scheduler_answer(system, token)
    assert taken.status_code == 200, taken.text

    await page.goto(system.url("console") + "/tokens")
    await expect(page.locator("#issued-token")).to_have_count(0)  # shown once, never again
    assert token not in await page.content()
    row = page.locator("#tokens tbody tr", has_text="Cổng SMS xã Thiệu Trung")
    await expect(row).to_contain_text("Đang hoạt động")
    await row.get_by_role("link", name=re.compile("Thu hồi")).click()
    await expect(page.locator("#revoke-form")).to_be_visible()
    await assert_accessible(page)
    await save_screenshots(page, "token-revoke")
    await page.fill("#reason", "Đổi cổng SMS")
    await page.click("#revoke-form button[type=submit]")

    await expect(page.locator("#revoked-notice")).to_be_visible()
    await expect(row).to_contain_text("Đã thu hồi")
    await expect(row.get_by_role("link")).to_have_count(0)
    await assert_accessible(page)
    await save_screenshots(page, "tokens")
    await refused(system, token)


async def test_a_token_minted_on_the_command_line_is_revoked_by_pasting_it(
    page: Page, system: System
) -> None:
    minted = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "token", "--role", "coordinator", "--scope", THIEU_TRUNG, "--hours", "2"],
        env=system.env(),
        capture_output=True,
        check=False,
    )
    assert minted.returncode == 0, minted.stderr.decode()
    token = minted.stdout.decode().strip()
    assert (await scheduler_answer(system, token)).status_code == 200
    admin = "+84912000302"
    await add_account(system, "admin", admin, "Quản trị")
    await sign_in(page, system, admin)
    await page.goto(system.url("console") + "/tokens")
    form = page.locator("#revoke-pasted-form")

    await form.locator("#token").fill("not a token")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#token-error")).to_be_visible()
    await expect(page.locator("#token")).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page)
    await form.locator("#token").fill(token)
    await form.locator("#paste-reason").fill("Lộ trong nhóm chat")
    await form.locator("button[type=submit]").click()

    await expect(page.locator("#revoked-notice")).to_be_visible()
    await refused(system, token)
    await form.locator("#token").fill(token)
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#token-error")).to_contain_text("đã bị thu hồi")
