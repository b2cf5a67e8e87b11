"""Signing in to the console in a real browser against the whole system: with the code texted
to the phone (read where the SMS provider received it), by keyboard alone, a wrong code, and
the ends of a session: signing out, revoked by its owner from another browser or by an admin.

The tests share one running system (tests/browser/conftest.py), so each adds accounts of its
own: a phone's sign-ins are rate-limited, and no test's sessions are another's."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from bench.system import System
from services.console.pages.common import SESSION_COOKIE
from tests.browser.accessibility import assert_accessible
from tests.browser.console import (
    PHONE_BROWSER,
    SIGN_IN_PAGE,
    THIEU_TRUNG,
    add_account,
    code_texted_to,
    session_cookie,
    sign_in,
)
from tests.browser.contexts import open_context
from tests.browser.faults import Faults
from tests.browser.screenshots import save_screenshots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.asyncio(loop_scope="session"),
    # one worker runs this module, so its system starts once
    pytest.mark.xdist_group("browser-signing-in"),
]


async def test_a_coordinator_signs_in_with_the_code_texted_to_their_phone(
    page: Page, system: System
) -> None:
    phone = "+84912000101"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await page.goto(system.url("console") + "/")

    await expect(page).to_have_url(SIGN_IN_PAGE)
    await assert_accessible(page)
    await save_screenshots(page, "sign-in")
    await page.fill("#phone", "0912 000 101")
    await page.click("#sign-in-form button[type=submit]")
    await expect(page.locator("#code-form")).to_be_visible()
    await assert_accessible(page)
    await save_screenshots(page, "code")
    code = await code_texted_to(system, phone, earlier=0)
    await page.fill("#code", code)
    await page.click("#code-form button[type=submit]")

    await expect(page).to_have_url(re.compile(r"/weekend$"))
    (cookie,) = [c for c in await page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert code not in await page.content()


async def test_a_wrong_code_is_refused_beside_the_field(page: Page, system: System) -> None:
    phone = "+84912000102"
    await add_account(system, "coordinator", phone, "Trần Văn Nam", (THIEU_TRUNG,))
    await page.goto(system.url("console") + "/sign-in")
    await page.fill("#phone", phone)
    await page.click("#sign-in-form button[type=submit]")
    await expect(page.locator("#code-form")).to_be_visible()
    code = await code_texted_to(system, phone, earlier=0)
    wrong = "000000" if code != "000000" else "111111"

    await page.fill("#code", wrong)
    await page.click("#code-form button[type=submit]")

    await expect(page.locator("#code-error")).to_be_visible()
    await expect(page.locator("#code")).to_have_attribute("aria-describedby", "code-error")
    await assert_accessible(page)
    await page.goto(system.url("console") + "/weekend")
    await expect(page).to_have_url(SIGN_IN_PAGE)


async def test_signing_in_by_keyboard_alone(page: Page, system: System) -> None:
    phone = "+84912000112"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await page.goto(system.url("console") + "/sign-in")

    await page.keyboard.press("Tab")
    assert await focused(page) == "a.skip-link"  # the first stop: past the menu to the form
    await tab_to(page, "#phone")
    await page.keyboard.type("0912 000 112")
    await page.keyboard.press("Enter")
    await expect(page.locator("#code-form")).to_be_visible()
    await tab_to(page, "#code")
    await page.keyboard.type(await code_texted_to(system, phone, earlier=0))
    await page.keyboard.press("Enter")

    await expect(page).to_have_url(re.compile(r"/weekend$"))


async def test_signing_out_ends_the_session_not_only_the_cookie(page: Page, system: System) -> None:
    phone = "+84912000111"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await sign_in(page, system, phone)
    kept = await session_cookie(page.context)
    assert kept is not None

    await page.locator("#sign-out-form button").click()

    await expect(page).to_have_url(SIGN_IN_PAGE)
    # a copy of the cookie taken before signing out
    await page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": kept, "url": system.url("console")}]
    )
    assert await session_cookie(page.context) == kept
    await page.goto(system.url("console") + "/weekend")
    await expect(page).to_have_url(SIGN_IN_PAGE)


async def test_a_revoked_session_is_signed_out(
    browser: Browser, page: Page, faults: Faults, system: System
) -> None:
    phone = "+84912000106"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    await sign_in(page, system, phone)  # the office PC
    phone_browser = await open_context(browser, faults, user_agent=PHONE_BROWSER)
    try:
        other = await phone_browser.new_page()
        await sign_in(other, system, phone)
        await other.goto(system.url("console") + "/my-sessions")
        await assert_accessible(other)
        await save_screenshots(other, "my-sessions")
        office = other.locator("#web-sessions li").filter(has_not_text=PHONE_BROWSER)

        await office.locator("button[type=submit]").click()

        await expect(other.locator("#web-sessions li")).to_have_count(1)
        await page.goto(system.url("console") + "/weekend")
        await expect(page).to_have_url(SIGN_IN_PAGE)
        await other.goto(system.url("console") + "/weekend")
        await expect(other).to_have_url(re.compile(r"/weekend$"))
    finally:
        await phone_browser.close()


async def test_an_admin_revokes_a_coordinators_session(
    browser: Browser, page: Page, faults: Faults, system: System
) -> None:
    await add_account(system, "coordinator", "+84912000109", "Hoàng Thị Mai", (THIEU_TRUNG,))
    await add_account(system, "admin", "+84912000110", "Quản trị")
    await sign_in(page, system, "+84912000109")
    admins = await open_context(browser, faults, user_agent=PHONE_BROWSER)
    try:
        admin = await admins.new_page()
        await sign_in(admin, system, "+84912000110")
        await admin.goto(system.url("console") + "/accounts")
        mai = admin.locator("#accounts tr").filter(has_text="Hoàng Thị Mai")
        await mai.locator("a[href$='/sessions']").click()
        await expect(admin.locator("#web-sessions li")).to_have_count(1)
        await assert_accessible(admin)

        await admin.locator("#web-sessions button[type=submit]").click()

        await expect(admin.locator("#web-sessions")).to_have_count(0)
        await page.goto(system.url("console") + "/weekend")
        await expect(page).to_have_url(SIGN_IN_PAGE)
    finally:
        await admins.close()


async def test_the_pages_in_english_say_so(page: Page, system: System) -> None:
    await page.goto(system.url("console") + "/sign-in?lang=en")

    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("label[for=phone]")).to_have_text("Phone number")
    await assert_accessible(page)


async def focused(page: Page) -> str:
    """The focused element as a selector: its tag, then its id or first class."""
    described: str = await page.evaluate(
        """() => {
            const e = document.activeElement;
            const name = e.id ? '#' + e.id : e.classList.length ? '.' + e.classList[0] : '';
            return e.tagName.toLowerCase() + name;
        }"""
    )
    return described


async def tab_to(page: Page, selector: str, most: int = 12) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user does; fail after `most`."""
    seen = []
    for _ in range(most):
        if await page.locator(selector).evaluate("e => e === document.activeElement"):
            return
        seen.append(await focused(page))
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never took the focus; the focus went {seen}")
