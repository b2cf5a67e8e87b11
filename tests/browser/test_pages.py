"""The console's pages in a real browser against the whole system: This weekend, a commune
outside the coordinator's scope refused, an admin adding a coordinator, and a forged form that
changes nothing. axe checks each page; the pages seen are saved for docs/console.md.

The tests share one running system (tests/browser/conftest.py), so each adds accounts of its
own."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from bench.system import System
from tests.browser.accessibility import assert_accessible
from tests.browser.console import (
    PHONE_BROWSER,
    THIEU_TRUNG,
    add_account,
    next_weekends_saturday,
    schedule_session,
    sign_in,
)
from tests.browser.contexts import open_context
from tests.browser.faults import Faults
from tests.browser.screenshots import save_screenshots

HOAN_KIEM = "00070"  # Hà Nội: no business of a Thanh Hóa coordinator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    # one worker runs this module, so its system starts once
    pytest.mark.xdist_group("browser-pages"),
]


async def test_the_weekend_page_shows_the_communes_sessions(page: Page, system: System) -> None:
    phone = "+84912000103"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    session_id = await schedule_session(system, THIEU_TRUNG, "Nhà văn hóa thôn 3")

    await sign_in(page, system, phone)
    await page.click("#next-weekend")

    card = page.locator(f"#session-{session_id}")
    await expect(card).to_contain_text("Nhà văn hóa thôn 3")
    await expect(card).to_contain_text(f"{next_weekends_saturday():%d/%m/%Y}, 08:00–11:00")
    await expect(page.locator("h2")).to_contain_text(THIEU_TRUNG)
    # HTMX is shipped with the console and served by it (a CDN would be refused)
    # (a deferred script: it runs after the text above is parsed, so wait for it to have run)
    await page.wait_for_function("typeof window.htmx === 'object'")
    await assert_accessible(page)
    await save_screenshots(page, "weekend")


async def test_an_unknown_address_says_what_to_do(page: Page, system: System) -> None:
    answer = await page.goto(system.url("console") + "/no-such-page")

    assert answer is not None
    assert answer.status == 404
    await expect(page.locator("main a[href='/']")).to_be_visible()  # where to go instead
    await expect(page.locator("main")).not_to_contain_text("Traceback")
    await assert_accessible(page)
    await save_screenshots(page, "not-found")


async def test_a_commune_outside_the_coordinators_scope_is_refused(
    page: Page, system: System
) -> None:
    phone = "+84912000104"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await schedule_session(system, HOAN_KIEM, "Nhà văn hóa phường Hoàn Kiếm")
    await sign_in(page, system, phone)

    answer = await page.goto(f"{system.url('console')}/weekend?commune={HOAN_KIEM}")

    assert answer is not None
    assert answer.status == 403
    await expect(page.locator("main")).not_to_contain_text("Hoàn Kiếm")
    await assert_accessible(page)
    await save_screenshots(page, "refused")
    await page.goto(system.url("console") + "/accounts")  # an admin's page, by direct URL
    await expect(page.locator("h1")).to_contain_text("403")


async def test_an_admin_adds_a_coordinator_who_then_signs_in(
    browser: Browser, page: Page, faults: Faults, system: System
) -> None:
    admin = "+84912000107"
    await add_account(system, "admin", admin, "Quản trị")
    await sign_in(page, system, admin)
    await page.goto(system.url("console") + "/accounts")
    form = page.locator("#add-coordinator-form")

    await fill_coordinator(form, "Phạm Văn Đức", "0912 00")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#phone-error")).to_be_visible()
    await expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#name")).to_have_value("Phạm Văn Đức")  # kept for the fix
    await assert_accessible(page)
    await save_screenshots(page, "accounts")
    await fill_coordinator(form, "Phạm Văn Đức", "0912 000 108")
    await form.locator("button[type=submit]").click()

    await expect(page.locator("#accounts")).to_contain_text("Phạm Văn Đức")
    coordinator = await open_context(browser, faults, user_agent=PHONE_BROWSER)
    try:
        await sign_in(await coordinator.new_page(), system, "+84912000108")
    finally:
        await coordinator.close()


async def test_a_forged_form_changes_nothing(page: Page, system: System) -> None:
    admin = "+84912000105"
    await add_account(system, "admin", admin, "Quản trị")
    await sign_in(page, system, admin)
    await page.goto(system.url("console") + "/accounts")
    form = page.locator("#add-coordinator-form")
    await fill_coordinator(form, "Kẻ giả mạo", "0912 000 199")
    # what a forged form lacks: the token the console put in its own form
    await form.locator("[name=_csrf_token]").evaluate("input => { input.value = 'forged' }")

    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await form.locator("button[type=submit]").click()

    assert (await posted.value).status == 403
    await assert_accessible(page)
    await page.goto(system.url("console") + "/accounts")
    await expect(page.locator("#accounts")).not_to_contain_text("Kẻ giả mạo")
    # the same form with the console's own token goes through: the token made the difference
    await fill_coordinator(form, "Kẻ giả mạo", "0912 000 199")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#accounts")).to_contain_text("Kẻ giả mạo")


async def fill_coordinator(form: Locator, name: str, phone: str) -> None:
    await form.locator("[name=name]").fill(name)
    await form.locator("[name=phone]").fill(phone)
    await form.locator("[name=scope]").fill(THIEU_TRUNG)
