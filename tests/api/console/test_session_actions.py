"""Page 3's actions: reschedule, capacity (choosing who waits again), cancel after a page that
counts who will be texted, attendance and closing on the day; refusals beside their field in
Vietnamese changing nothing, and another commune's coordinator refused by forged form."""

from __future__ import annotations

from datetime import timedelta

import httpx

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.console.test_pages import session_body
from tests.api.console.test_session_page import OTHER_PHONE, help_body
from tests.api.console.world import (
    COORDINATOR_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    VOLUNTEERS_AWAY,
    World,
    console_world,
)
from tests.support.services import token
from tests.support.waiting import eventually


async def two_booked(world: World) -> str:
    """A Saturday session of Thiệu Trung with two residents booked; its id."""
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        body = session_body("Nhà văn hóa thôn 2", "2026-12-05", "08:00:00") | {"capacity": 2}
        made = await scheduler.post("/sessions", json=body, headers=token(Role.ADMIN))
        assert made.status_code == 201, made.text
        for name, phone in [("Lê Thị Hoa", "0912 345 678"), ("Trần Văn Bình", "0912 345 679")]:
            asked = await scheduler.post(
                "/help-requests", json=help_body(name, phone), headers=token(Role.ADMIN)
            )
            assert asked.status_code in (200, 201, 202), asked.text
    await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
    await world.sign_in(COORDINATOR_PHONE)
    session_id: str = made.json()["session_id"]
    return session_id


async def scheduled(world: World, session_id: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        found = await scheduler.get(f"/sessions/{session_id}", headers=token(Role.ADMIN))
    body: dict[str, object] = found.json()
    return body


async def post(world: World, path: str, **fields: object) -> httpx.Response:
    data = {"_csrf_token": await world.csrf(path.rsplit("/", 1)[0])} | fields
    return await world.console.post(path, data=data)


async def test_rescheduling_moves_the_session_and_wrong_times_change_nothing(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id = await two_booked(world)
        wrong = await post(
            world,
            f"/sessions/{session_id}/reschedule",
            local_date="2026-12-06",
            start_local="11:00",
            end_local="09:00",
            venue_name="Nhà văn hóa thôn 2",
            venue_address="xã Thiệu Trung",
        )
        no_address = await post(
            world,
            f"/sessions/{session_id}/reschedule",
            local_date="2026-12-06",
            start_local="09:00",
            end_local="11:00",
            venue_name="Trường tiểu học",
        )
        unchanged = await scheduled(world, session_id)
        moved = await post(
            world,
            f"/sessions/{session_id}/reschedule",
            local_date="2026-12-06",
            start_local="09:00",
            end_local="11:00",
            venue_name="Trường tiểu học",
            venue_address="thôn 3",
        )
        after = await scheduled(world, session_id)
        shown = (await world.console.get(f"/sessions/{session_id}")).text

    assert wrong.status_code == 400
    assert "Kiểm tra lại giờ" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert no_address.status_code == 400
    assert 'id="venue_address-error"' in no_address.text
    assert "Hãy ghi địa chỉ địa điểm." in no_address.text
    assert 'value="Trường tiểu học"' in no_address.text  # what was typed stays
    assert unchanged["local_date"] == "2026-12-05"
    assert moved.status_code == 302, moved.text
    assert after["local_date"] == "2026-12-06"
    assert "Chủ Nhật, 06/12/2026" in shown
    assert "Trường tiểu học" in shown


async def test_fewer_places_sends_back_the_chosen_resident_and_an_unticked_cut_is_refused(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id = await two_booked(world)
        page = (await world.console.get(f"/sessions/{session_id}")).text
        bookings = [
            part.split('"', 1)[0] for part in page.split('name="move_to_waitlist" value="')[1:]
        ]
        unticked = await post(world, f"/sessions/{session_id}/capacity", capacity="1")
        not_a_number = await post(world, f"/sessions/{session_id}/capacity", capacity="hai")
        unchanged = await scheduled(world, session_id)
        cut = await post(
            world, f"/sessions/{session_id}/capacity", capacity="1", move_to_waitlist=bookings[1]
        )
        after = await scheduled(world, session_id)
        shown = (await world.console.get(f"/sessions/{session_id}")).text

    assert len(bookings) == 2
    assert unticked.status_code == 400
    assert "Hãy chọn đúng số người dân" in unticked.text
    assert not_a_number.status_code == 400
    assert "Hãy ghi số chỗ là số nguyên" in not_a_number.text
    assert unchanged["capacity"] == 2
    assert unchanged["booked"] == 2
    assert cut.status_code == 302, cut.text
    assert after["capacity"] == 1
    assert after["booked"] == 1
    waitlist = shown[shown.index('id="waitlist-heading"') :]
    assert "Trần Văn Bình" in waitlist or "Lê Thị Hoa" in waitlist


async def test_cancelling_says_how_many_will_be_texted_then_needs_a_reason(
    settings: Settings,
) -> None:
    async with console_world(
        settings, with_scheduler=True, volunteers_url=VOLUNTEERS_AWAY
    ) as world:
        session_id = await two_booked(world)
        confirm = await world.console.get(f"/sessions/{session_id}/cancel")
        no_reason = await post(world, f"/sessions/{session_id}/cancel", reason="  ")
        too_long = await post(world, f"/sessions/{session_id}/cancel", reason="x" * 51)
        unchanged = await scheduled(world, session_id)
        done = await post(world, f"/sessions/{session_id}/cancel", reason="Mất điện cả xã")
        after = await scheduled(world, session_id)

        async def session_page() -> str:
            return (await world.console.get(f"/sessions/{session_id}")).text

        # Each resident's cancellation SMS, once notifications has queued it.
        shown = await eventually(
            session_page,
            lambda text: text.count('class="told"') == 2 and "chưa vào hàng gửi" not in text,
            timeout=20,
        )
        weekend = (await world.console.get(f"/weekend?commune={THIEU_TRUNG}")).text

    assert confirm.status_code == 200
    assert "2 người sẽ nhận tin nhắn SMS" in confirm.text
    assert 'id="texted-volunteers-unknown"' in confirm.text  # no volunteers service here
    assert 'id="cancel-form"' in confirm.text
    assert no_reason.status_code == 400
    assert "Hãy ghi lý do hủy buổi." in no_reason.text
    assert too_long.status_code == 400
    assert "Hãy ghi lý do trong tối đa 50 ký tự" in too_long.text
    assert "x" * 51 in too_long.text  # kept, to be shortened rather than typed again
    assert 'maxlength="50"' in confirm.text
    assert unchanged["status"] == "scheduled"
    assert done.status_code == 302, done.text
    assert after["status"] == "cancelled"
    assert after["cancel_reason"] == "Mất điện cả xã"
    assert "Đã hủy" in shown
    assert "Mất điện cả xã" in shown
    # Who was booked, that they were told, and nothing that says they still hold a place.
    assert "Người dân đã đặt chỗ khi buổi bị hủy" in shown
    assert "Lê Thị Hoa" in shown
    assert "Trần Văn Bình" in shown
    assert "Tin nhắn báo hủy: <strong>" in shown
    assert '<dd id="session-bookings">0 / 2</dd>' in shown
    assert 'id="waitlist-heading"' not in shown
    assert 'id="session-staffing"' not in shown
    assert 'id="attendance-' not in shown
    assert "Tình trạng: Đã hủy" in weekend
    assert 'class="staffing"' not in weekend  # the card words the status, not "cancelled"


async def test_on_the_day_attendance_outcomes_and_closing(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id = await two_booked(world)
        page = (await world.console.get(f"/sessions/{session_id}")).text
        bookings = [part.split('"', 1)[0] for part in page.split('name="booking_id" value="')[1:]]
        world.clock.advance(timedelta(days=3))  # Saturday 5 December, 09:00 in Thanh Hóa
        await world.sign_in(COORDINATOR_PHONE)  # the web session of three days ago has ended
        bad = await post(
            world, f"/sessions/{session_id}/attendance", booking_id=bookings[0], status="late"
        )
        came = await post(
            world,
            f"/sessions/{session_id}/attendance",
            booking_id=bookings[0],
            status="attended",
            outcomes="vneid_activated",
        )
        missed = await post(
            world, f"/sessions/{session_id}/attendance", booking_id=bookings[1], status="no_show"
        )
        during = (await world.console.get(f"/sessions/{session_id}")).text
        world.clock.advance(timedelta(hours=3))
        bad_walk_ins = await post(world, f"/sessions/{session_id}/complete", walk_ins="-1")
        closed = await post(world, f"/sessions/{session_id}/complete", walk_ins="3")
        # The test's own tokens are minted for the wall clock, the services' is days ahead.
        after = (await world.console.get(f"/sessions/{session_id}")).text

    assert len(bookings) == 2
    assert bad.status_code == 400
    assert "Chọn điều đã diễn ra." in bad.text
    assert came.status_code == 302, came.text
    assert missed.status_code == 302, missed.text
    assert "Đã tham dự" in during
    assert "Không đến" in during
    assert bad_walk_ins.status_code == 400
    assert "từ 0 trở lên" in bad_walk_ins.text
    assert closed.status_code == 302, closed.text
    assert "Đã hoàn thành" in after
    assert 'id="complete-form"' not in after


async def test_another_communes_coordinator_changes_nothing_by_forged_form(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id = await two_booked(world)
        no_token = await world.console.post(
            f"/sessions/{session_id}/cancel", data={"reason": "giả mạo"}
        )
        await world.console.post("/sign-out", data={"_csrf_token": await world.csrf("/weekend")})
        await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,))
        await world.sign_in(OTHER_PHONE)
        token_ = await world.csrf("/weekend")
        refused = [
            await world.console.post(
                f"/sessions/{session_id}/{action}", data={"_csrf_token": token_} | fields
            )
            for action, fields in [
                ("cancel", {"reason": "giả mạo"}),
                ("capacity", {"capacity": "5"}),
                ("complete", {"walk_ins": "0"}),
                (
                    "reschedule",
                    {"local_date": "2026-12-06", "start_local": "08:00", "end_local": "10:00"},
                ),
            ]
        ]
        confirm = await world.console.get(f"/sessions/{session_id}/cancel")
        after = await scheduled(world, session_id)

    assert no_token.status_code == 403
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert confirm.status_code == 403
    assert "Lê Thị Hoa" not in confirm.text
    assert after["status"] == "scheduled"
    assert after["capacity"] == 2
    assert after["local_date"] == "2026-12-05"
