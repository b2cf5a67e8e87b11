"""The pages a coordinator reads: This weekend from the scheduler's API, in Vietnamese or
English, and error pages that say what to do."""

from __future__ import annotations

from datetime import date

import httpx

from services.console.pages.weekend import coming_weekend, understaffed_first
from services.console.peers import SessionSummary, Venue
from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.console.world import COORDINATOR_PHONE, THIEU_TRUNG, console_world
from tests.support.services import token


def session_body(venue: str, local_date: str, start: str) -> dict[str, object]:
    return {
        "commune_code": THIEU_TRUNG,
        "venue": {"name": venue, "address": "xã Thiệu Trung"},
        "local_date": local_date,
        "start_local": start,
        "end_local": "11:30:00",
        "topics": ["vneid_activation"],
        "capacity": 12,
        "volunteers_needed": 2,
    }


async def test_this_weekend_lists_the_communes_sessions_with_vietnamese_dates(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
            for venue, day, start in [
                ("Nhà văn hóa thôn 2", "2026-12-06", "08:00:00"),
                ("Trường tiểu học Thiệu Trung", "2026-12-05", "08:00:00"),
                ("UBND xã, buổi sau", "2026-12-12", "08:00:00"),
            ]:
                made = await scheduler.post(
                    "/sessions",
                    json=session_body(venue, day, start),
                    headers=token(Role.ADMIN),
                )
                assert made.status_code == 201, made.text
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)

        vietnamese = (await world.console.get("/weekend")).text
        following = (await world.console.get("/weekend?commune=15835&weeks=1")).text
        too_far = await world.console.get("/weekend?weeks=99")
        english = (await world.console.get("/weekend?lang=en")).text
        remembered = (await world.console.get("/weekend")).text

    assert "Thứ Bảy, 05/12/2026" in vietnamese
    assert vietnamese.index("Trường tiểu học") < vietnamese.index("Nhà văn hóa thôn 2")
    assert "buổi sau" not in vietnamese  # the weekend after is not this one
    assert "Thứ Bảy, 12/12/2026" in following
    assert "UBND xã, buổi sau" in following
    assert too_far.status_code == 400
    assert "Đã đăng ký: 0 / 12" in vietnamese
    assert '<html lang="vi">' in vietnamese
    assert "Saturday, 5 December 2026" in english
    assert "Bookings: 0 / 12" in english
    assert '<html lang="en">' in remembered


async def test_an_unknown_page_says_what_to_do_in_vietnamese(settings: Settings) -> None:
    async with console_world(settings) as world:
        missing = await world.console.get("/no-such-page")

    assert missing.status_code == 404
    assert "Không có trang này" in missing.text
    assert "Traceback" not in missing.text


def summary(venue: str, staffing: str, day: date) -> SessionSummary:
    return SessionSummary(
        session_id=venue,
        status="scheduled",
        commune_code=THIEU_TRUNG,
        venue=Venue(name=venue),
        local_date=day,
        start_local="08:00:00",
        end_local="11:00:00",
        staffing=staffing,
    )


def test_understaffed_sessions_come_first_then_by_day() -> None:
    saturday, sunday = date(2026, 12, 5), date(2026, 12, 6)
    ordered = understaffed_first(
        [
            summary("staffed", "staffed", saturday),
            summary("short on sunday", "understaffed", sunday),
            summary("short on saturday", "understaffed", saturday),
        ]
    )
    assert [s.venue.name for s in ordered] == ["short on saturday", "short on sunday", "staffed"]


def test_the_coming_weekend_is_this_one_while_it_lasts() -> None:
    assert coming_weekend(date(2026, 12, 2)) == (date(2026, 12, 5), date(2026, 12, 6))
    assert coming_weekend(date(2026, 12, 5)) == (date(2026, 12, 5), date(2026, 12, 6))
    assert coming_weekend(date(2026, 12, 6)) == (date(2026, 12, 5), date(2026, 12, 6))
    assert coming_weekend(date(2026, 12, 7)) == (date(2026, 12, 12), date(2026, 12, 13))


async def test_a_province_coordinator_chooses_among_the_provinces_communes(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, ("38",))
        await world.sign_in(COORDINATOR_PHONE)

        first = await world.console.get("/weekend")
        chosen = await world.console.get(f"/weekend?commune={THIEU_TRUNG}")
        elsewhere = await world.console.get("/weekend?commune=00070")

    assert first.status_code == 200
    assert first.text.count("<option ") == 166
    assert "Xã Thiệu Trung (15835)" in chosen.text
    assert elsewhere.status_code == 403
