"""A person's own copy from the console: a coordinator in scope (or an admin) downloads a
resident's as a JSON attachment, assembled from every service and recorded as given; outside
the scope, or as a volunteer, it is refused; a volunteer downloads only their own; a service
that does not answer is named in `incomplete`."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from shared.events.console import AccountRole
from shared.settings import Settings
from tests.api.console.test_erasure import (
    OTHER_PHONE,
    erase,
    sign_out,
    status_of,
    waiting_request,
)
from tests.api.console.test_help_requests import coordinator
from tests.api.console.test_volunteer_page import as_volunteer
from tests.api.console.world import (
    ADMIN_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    VOLUNTEER_PHONE,
    VOLUNTEERS_AWAY,
    World,
    console_world,
)
from tests.support.waiting import eventually


async def texts_to(world: World, phone: str) -> list[str]:
    """What the SMS provider was handed for `phone`, oldest first."""
    found = []
    for request in world.gateway.requests:
        body = msgspec.json.decode(request.body)
        if body.get("phone") == phone:
            found.append(str(body.get("message", "")))
    return found


def sections(copy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in copy["sections"]}


async def given(world: World) -> list[dict[str, Any]]:
    """The `subject_access.given` events in the console's log."""
    store = world.runtime.store
    events = store.tables.events
    async with store.reader.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.data).where(events.c.event_type == "subject_access.given")
        )
        return [msgspec.json.decode(bytes(row.data)) for row in rows]


async def test_a_coordinator_downloads_a_residents_copy_from_every_service(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        request_id = await waiting_request(world, "0912345201")
        listed = await world.console.get(f"/help-requests?commune={THIEU_TRUNG}")
        answer = await world.console.get(f"/help-requests/{request_id}/copy")
        recorded = await given(world)
        coordinator_list = await world.console.get("/copies")
        await sign_out(world)
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.sign_in(ADMIN_PHONE)
        listed_for_admin = await world.console.get("/copies?lang=en")
        told = await eventually(
            lambda: texts_to(world, "+84912345201"),
            lambda found: any("bản sao dữ liệu" in t for t in found),
        )

    assert coordinator_list.status_code == 403
    assert listed_for_admin.status_code == 200
    assert f'id="copy-{recorded[0]["copy_id"]}"' in listed_for_admin.text
    assert "Resident " + request_id in listed_for_admin.text
    assert "+84912345201" not in listed_for_admin.text
    assert [t for t in told if "bản sao dữ liệu" in t] == [
        (
            "HandInHand: Theo yêu cầu, bản sao dữ liệu cá nhân của bạn đã được giao cho cán bộ "
            "điều phối lúc Thứ Tư 02/12, 09:00."
        )
    ]
    assert f'href="/help-requests/{request_id}/copy"' in listed.text
    assert "Tải bản sao dữ liệu của người dân" in listed.text
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert request_id in answer.headers["content-disposition"]
    assert answer.headers["cache-control"] == "no-store"
    copy = answer.json()
    assert (copy["person"], copy["person_id"], copy["phone"]) == (
        "resident",
        request_id,
        "+84912345201",
    )
    assert copy["incomplete"] == []
    found = sections(copy)
    assert set(found) == {"scheduler", "volunteers", "notifications"}
    [held] = found["scheduler"]["data"]["help_requests"]
    assert (held["resident_name"], held["status"]) == ("Trần Văn Bình", "waiting")
    assert found["volunteers"]["status"] == "nothing_held"
    [event] = recorded
    assert (event["person"], event["person_id"], event["asked_role"]) == (
        "resident",
        request_id,
        "coordinator",
    )
    assert event["answered"] == ["scheduler", "volunteers", "notifications"]
    assert event["missing"] == []
    assert "+84912345201" not in str(event)
    assert "0912345201" not in str(event)


async def test_a_copy_is_refused_outside_the_scope_and_to_a_volunteer_who_gets_only_their_own(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        request_id = await waiting_request(world, "0912345202")
        not_a_volunteer = await world.console.get("/me/copy")
        await sign_out(world)
        await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,))
        await world.sign_in(OTHER_PHONE)
        elsewhere = await world.console.get(f"/help-requests/{request_id}/copy")
        await sign_out(world)
        volunteer_id = await as_volunteer(world)
        as_volunteer_of_resident = await world.console.get(f"/help-requests/{request_id}/copy")
        home = await world.console.get("/me")
        own = await world.console.get("/me/copy")
        recorded = await given(world)

    assert not_a_volunteer.status_code == 403
    assert elsewhere.status_code == 403
    assert as_volunteer_of_resident.status_code == 403
    assert 'href="/me/copy"' in home.text
    assert own.status_code == 200, own.text
    copy = own.json()
    assert (copy["person"], copy["person_id"]) == ("volunteer", volunteer_id)
    [held] = sections(copy)["volunteers"]["data"]["volunteers"]
    assert (held["name"], held["phone"]) == ("Lê Thị Hoa", VOLUNTEER_PHONE)
    assert [e["person_id"] for e in recorded] == [volunteer_id]  # the refused gave nothing


async def test_a_service_that_does_not_answer_is_named_in_the_copy(settings: Settings) -> None:
    async with console_world(
        settings, with_scheduler=True, volunteers_url=VOLUNTEERS_AWAY
    ) as world:
        await coordinator(world)
        request_id = await waiting_request(world, "0912345203")
        answer = await world.console.get(f"/help-requests/{request_id}/copy")
        recorded = await given(world)

    assert answer.status_code == 200, answer.text
    copy = answer.json()
    assert copy["incomplete"] == ["volunteers"]
    assert sections(copy)["volunteers"] == {"service": "volunteers", "status": "not_answered"}
    assert sections(copy)["scheduler"]["status"] == "held"
    [event] = recorded
    assert (event["answered"], event["missing"]) == (["scheduler", "notifications"], ["volunteers"])


async def test_an_erased_residents_copy_holds_no_personal_value_and_texts_nobody(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        request_id = await waiting_request(world, "0912345204")
        assert (await erase(world, request_id, confirm="yes")).status_code == 200
        await eventually(
            lambda: status_of(world, request_id), lambda found: found["status"] == "erased"
        )
        answer = await world.console.get(f"/help-requests/{request_id}/copy")
        told = await texts_to(world, "+84912345204")

    assert answer.status_code == 200, answer.text
    copy = answer.json()
    assert (copy["phone"], copy["incomplete"]) == (None, [])
    found = sections(copy)
    assert found["scheduler"]["status"] == "erased"
    assert found["notifications"]["status"] == "erased"
    assert found["volunteers"]["status"] == "nothing_held"
    assert "Trần Văn Bình" not in answer.text
    assert not [t for t in told if "bản sao" in t]
