"""Page 7, the SMS sent for a session: phones masked, delivery status in Vietnamese, the
booking SMS the scheduler's events made notifications send; another commune's coordinator
refused by direct URL, even where notifications would find nothing to check."""

from __future__ import annotations

import httpx

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.waiting import eventually
from tests.api.console.test_session_actions import two_booked
from tests.api.console.test_session_page import OTHER_PHONE
from tests.api.console.world import HOAN_KIEM, console_world


async def test_a_sessions_sms_with_masked_phones_and_delivery_status(settings: Settings) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        session_id = await two_booked(world)
        path = f"/sessions/{session_id}/messages"

        async def shown() -> httpx.Response:
            return await world.console.get(path)

        listed = await eventually(
            shown, lambda r: "+84*****5678" in r.text and "+84*****5679" in r.text
        )
        session_page = (await world.console.get(f"/sessions/{session_id}")).text
        english = (await world.console.get(path + "?lang=en")).text
        await world.console.post("/sign-out", data={"_csrf_token": await world.csrf("/weekend")})
        await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,))
        await world.sign_in(OTHER_PHONE)
        refused = await world.console.get(path)
        missing = await world.console.get("/sessions/session-nothing/messages")

    page = listed.text
    assert listed.status_code == 200
    assert f'href="{path}"' in session_page
    assert "Người dân" in page
    assert "0912 345 678" not in page
    assert "+84912345678" not in page
    assert any(s in page for s in ("Đang chờ gửi", "Đang gửi", "Đã gửi, chưa báo nhận", "Đã nhận"))
    assert "Thứ Bảy, 05/12/2026" in page
    assert "Resident" in english
    assert refused.status_code == 403
    assert "+84*****5678" not in refused.text
    assert missing.status_code == 404
