"""The console in a real browser against the whole system: signing in with the code texted
to the phone, This weekend, and what is refused (a commune out of scope, a forged form, a
revoked session). axe checks every page; the pages seen are saved for docs/console.md.

The tests share one running system (module scope), so each adds accounts of its own: a
phone's sign-ins are rate-limited, and no test's sessions are another's."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from bench.system import System
from services.console.pages.common import SESSION_COOKIE
from tests.browser.accessibility import assert_accessible
from tests.browser.console import (
    SIGN_IN_PAGE,
    add_account,
    code_texted_to,
    schedule_session,
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
    # one worker runs this module, so the system starts once
    pytest.mark.xdist_group("browser-console"),
]

THIEU_TRUNG = "15835"
HOAN_KIEM = "00070"  # Hà Nội: no business of a Thanh Hóa coordinator
# A second browser's user agent, shown in the sessions list (a header: ASCII only)
PHONE_BROWSER = "Mozilla/5.0 (Linux; Android 14) HandInHand-test-phone"


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


async def test_this_weekend_shows_the_communes_sessions(page: Page, system: System) -> None:
    phone = "+84912000103"
    await add_account(system, "coordinator", phone, "Lê Thị Hoa", (THIEU_TRUNG,))
    session_id = await schedule_session(system, THIEU_TRUNG, "Nhà văn hóa thôn 3")

    await sign_in(page, system, phone)

    card = page.locator(f"#session-{session_id}")
    await expect(card).to_contain_text("Nhà văn hóa thôn 3")
    await expect(card).to_contain_text("23:00–23:45")
    await expect(page.locator("h2")).to_contain_text(THIEU_TRUNG)
    await assert_accessible(page)
    await save_screenshots(page, "weekend")


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


async def fill_coordinator(form: Locator, name: str, phone: str) -> None:
    await form.locator("[name=name]").fill(name)
    await form.locator("[name=phone]").fill(phone)
    await form.locator("[name=scope]").fill(THIEU_TRUNG)


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
        await mai.get_by_role("link").click()
        await expect(admin.locator("#web-sessions li")).to_have_count(1)
        await assert_accessible(admin)

        await admin.locator("#web-sessions button[type=submit]").click()

        await expect(admin.locator("#web-sessions")).to_have_count(0)
        await page.goto(system.url("console") + "/weekend")
        await expect(page).to_have_url(SIGN_IN_PAGE)
    finally:
        await admins.close()


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
