"""Signing in to the console by SMS code, with the code read from the SMS provider's side."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from bench.gateway import Response
from services.console.app import create_app
from shared.events.console import AccountRole
from shared.settings import Settings
from tests.api.console.world import (
    ADMIN_PHONE,
    COORDINATOR_PHONE,
    THIEU_TRUNG,
    UNKNOWN_PHONE,
    console_settings,
    console_world,
)
from tests.support.serving import serving


async def test_an_admin_signs_in_with_the_code_texted_to_their_phone(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)

        page = await world.ask_code("0912 000 001")
        (code,) = world.codes_sent_to(ADMIN_PHONE)
        status = await world.enter_code(ADMIN_PHONE, code)
        accounts = await world.console.get("/accounts")

    assert 'id="code-form"' in page
    assert status == 302
    assert accounts.status_code == 200
    assert 'id="add-coordinator-form"' in accounts.text


async def test_the_code_is_kept_nowhere_in_clear(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.ask_code(ADMIN_PHONE)
        (code,) = world.codes_sent_to(ADMIN_PHONE)
        before = await world.everything_stored()
        await world.enter_code(ADMIN_PHONE, code)
        cookie = world.console.cookies["hih_session"]
        after = await world.everything_stored()

    assert code not in before
    assert code not in after
    assert cookie not in after


async def test_when_the_sms_cannot_go_the_page_says_try_again(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        world.gateway.default = Response(status=500, body=b"{}")
        token = await world.csrf()

        answer = await world.console.post(
            "/sign-in", data={"phone": ADMIN_PHONE, "_csrf_token": token}
        )

    assert answer.status_code == 503
    assert "Chưa gửi được mã lúc này. Hãy thử lại." in answer.text


async def test_an_unknown_phone_gets_the_same_answer_and_no_sms(settings: Settings) -> None:
    async with console_world(settings, answer_after=0.3) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)

        started = time.monotonic()
        known = await world.ask_code(ADMIN_PHONE)
        known_took = time.monotonic() - started
        started = time.monotonic()
        unknown = await world.ask_code(UNKNOWN_PHONE)
        unknown_took = time.monotonic() - started

        assert world.codes_sent_to(UNKNOWN_PHONE) == []
    assert known.replace(ADMIN_PHONE, "PHONE") == unknown.replace(UNKNOWN_PHONE, "PHONE")
    # Neither answers before the floor, whether an SMS was sent or not.
    assert min(known_took, unknown_took) >= 0.3


async def test_two_console_instances_share_the_limits(settings: Settings) -> None:
    async with console_world(settings, per_phone=2) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        config = console_settings(per_phone=2, notifications_url=world.notifications_url)
        other = create_app(settings, console=config, clock=world.clock)
        async with serving(other) as url, httpx.AsyncClient(base_url=url) as second:
            answers = []
            for browser in (world.console, second, world.console, second):
                page = await browser.get("/sign-in")
                token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
                answer = await browser.post(
                    "/sign-in", data={"phone": ADMIN_PHONE, "_csrf_token": token}
                )
                answers.append(answer.status_code)

    assert answers == [200, 200, 429, 429]


async def test_a_code_is_used_once(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.ask_code(ADMIN_PHONE)
        (code,) = world.codes_sent_to(ADMIN_PHONE)

        first = await world.enter_code(ADMIN_PHONE, code)
        again = await world.enter_code(ADMIN_PHONE, code)

    assert (first, again) == (302, 400)


async def test_a_code_expires_after_five_minutes(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.ask_code(ADMIN_PHONE)
        (code,) = world.codes_sent_to(ADMIN_PHONE)

        world.clock.advance(timedelta(minutes=5, seconds=1))
        status = await world.enter_code(ADMIN_PHONE, code)
        page = await world.console.get("/accounts")

    assert status == 400
    assert page.status_code == 302
    assert page.headers["location"] == "/sign-in"


async def test_five_wrong_codes_lock_the_phone_for_fifteen_minutes(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.ask_code(ADMIN_PHONE)
        (code,) = world.codes_sent_to(ADMIN_PHONE)
        wrong = "000000" if code != "000000" else "111111"

        tries = [await world.enter_code(ADMIN_PHONE, wrong) for _ in range(5)]
        right_but_locked = await world.enter_code(ADMIN_PHONE, code)
        asked_while_locked = await world.ask_code(ADMIN_PHONE)
        sent_while_locked = len(world.codes_sent_to(ADMIN_PHONE))

        world.clock.advance(timedelta(minutes=15, seconds=1))
        await world.ask_code(ADMIN_PHONE)
        fresh = world.codes_sent_to(ADMIN_PHONE)[-1]
        after_the_lock = await world.enter_code(ADMIN_PHONE, fresh)

    assert tries == [400] * 5
    assert right_but_locked == 400
    assert "15" in asked_while_locked
    assert sent_while_locked == 1
    assert after_the_lock == 302


async def test_code_requests_are_limited_per_phone(settings: Settings) -> None:
    async with console_world(settings, per_phone=2) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)

        for _ in range(3):
            await world.ask_code(ADMIN_PHONE)
        token = await world.csrf()
        refused = await world.console.post(
            "/sign-in", data={"phone": ADMIN_PHONE, "_csrf_token": token}
        )

        assert len(world.codes_sent_to(ADMIN_PHONE)) == 2
    assert refused.status_code == 429


async def test_code_requests_are_limited_per_client_address(settings: Settings) -> None:
    async with console_world(settings, per_client=3) as world:
        phones = [f"+8491200010{i}" for i in range(5)]
        answers = []
        for phone in phones:
            token = await world.csrf()
            answer = await world.console.post(
                "/sign-in", data={"phone": phone, "_csrf_token": token}
            )
            answers.append(answer.status_code)

    assert answers == [200, 200, 200, 429, 429]


async def test_a_form_without_its_csrf_token_is_refused(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.console.get("/sign-in")  # the browser has its CSRF cookie

        forged = await world.console.post("/sign-in", data={"phone": ADMIN_PHONE})

        assert world.codes_sent_to(ADMIN_PHONE) == []
    assert forged.status_code == 403
    assert "<h1>" in forged.text
    assert "Traceback" not in forged.text


async def test_signing_out_ends_the_session(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.sign_in(ADMIN_PHONE)
        cookie = world.console.cookies["hih_session"]
        token = await world.csrf("/accounts")

        await world.console.post("/sign-out", data={"_csrf_token": token})
        world.console.cookies["hih_session"] = cookie  # a copy of the old cookie
        after = await world.console.get("/accounts")

    assert after.status_code == 302
    assert after.headers["location"] == "/sign-in"


async def test_signing_in_again_in_a_browser_ends_its_earlier_session(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.sign_in(ADMIN_PHONE)
        earlier = world.console.cookies["hih_session"]
        await world.sign_in(ADMIN_PHONE)
        later = world.console.cookies["hih_session"]
        sessions = (await world.console.get("/my-sessions")).text
        world.console.cookies["hih_session"] = earlier
        with_the_earlier = await world.console.get("/accounts")

    assert earlier != later
    assert sessions.count('id="web-session-') == 1
    assert with_the_earlier.status_code == 302


def this_browsers_session(page: str) -> str:
    """The id of the session the page was asked with, from "my sessions"."""
    for card in page.split('id="web-session-')[1:]:
        if "trình duyệt này" in card.split("</li>")[0]:
            return card.split('"')[0]
    raise AssertionError("no session marked as this browser's")


async def test_a_revoked_session_cookie_is_refused(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.sign_in(ADMIN_PHONE)
        first = world.console.cookies["hih_session"]
        first_id = this_browsers_session((await world.console.get("/my-sessions")).text)
        world.console.cookies.delete("hih_session")  # a second browser, without the cookie
        await world.sign_in(ADMIN_PHONE)
        second = world.console.cookies["hih_session"]
        page = (await world.console.get("/my-sessions")).text
        token = await world.csrf("/my-sessions")

        revoked = await world.console.post(
            f"/web-sessions/{first_id}/revoke", data={"_csrf_token": token}
        )
        world.console.cookies["hih_session"] = first
        refused = await world.console.get("/accounts")
        world.console.cookies["hih_session"] = second
        still = await world.console.get("/accounts")

    assert first != second  # a new session id at every sign-in
    assert page.count('id="web-session-') == 2
    assert this_browsers_session(page) != first_id
    assert revoked.status_code == 302
    assert refused.status_code == 302
    assert still.status_code == 200


async def test_a_coordinator_cannot_open_a_commune_outside_their_scope(settings: Settings) -> None:
    async with console_world(settings) as world:
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)

        outside = await world.console.get("/weekend?commune=00070")
        admin_page = await world.console.get("/accounts")

    assert outside.status_code == 403
    assert admin_page.status_code == 403


async def test_an_admin_adds_and_pauses_a_coordinator_who_then_cannot_sign_in(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.sign_in(ADMIN_PHONE)
        token = await world.csrf("/accounts")

        bad = await world.console.post(
            "/accounts",
            data={"name": "", "phone": "12345", "scope": THIEU_TRUNG, "_csrf_token": token},
        )
        added = await world.console.post(
            "/accounts",
            data={
                "name": "Trần Thị Bình",
                "phone": "0912 000 002",
                "scope": THIEU_TRUNG,
                "_csrf_token": token,
            },
        )
        listing = (await world.console.get("/accounts")).text
        account_id = listing.split('id="account-')[1].split('"')[0]
        rows = listing.count('id="account-')
        coordinator_id = next(
            part.split('"')[0]
            for part in listing.split('id="account-')[1:]
            if "Trần Thị Bình" in part.split("</tr>")[0]
        )
        paused = await world.console.post(
            f"/accounts/{coordinator_id}/pause", data={"_csrf_token": token}
        )
        await world.console.post("/sign-out", data={"_csrf_token": token})

        await world.ask_code(COORDINATOR_PHONE)
        sent_to_paused = world.codes_sent_to(COORDINATOR_PHONE)

    assert bad.status_code == 400
    assert "Hãy ghi tên cán bộ điều phối." in bad.text
    assert "Hãy ghi số di động Việt Nam" in bad.text
    assert added.status_code == 302
    assert account_id
    assert rows == 2
    assert paused.status_code == 302
    assert sent_to_paused == []


async def test_a_province_admin_manages_only_sessions_within_their_province(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN, ("38",))  # Thanh Hóa
        inside = await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        outside = await world.add_account(
            "+84912000003", AccountRole.COORDINATOR, ("00070",), name="Hà Nội"
        )
        await world.sign_in(ADMIN_PHONE)

        theirs = await world.console.get(f"/accounts/{inside}/sessions")
        not_theirs = await world.console.get(f"/accounts/{outside}/sessions")

    assert theirs.status_code == 200
    assert not_theirs.status_code == 403
