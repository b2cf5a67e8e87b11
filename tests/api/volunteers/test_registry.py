"""The registry over HTTP: groups, volunteers, availability and roster import, with the
failure paths a coordinator or volunteer meets (field errors, auth, scope, conflicts, retries)."""

from __future__ import annotations

from nats.aio.client import Client

from shared.clock import FixedClock
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.volunteers.world import (
    COORDINATOR,
    HOAN_KIEM,
    PROVINCE_COORDINATOR,
    T0,
    THIEU_TOAN,
    THIEU_TRUNG,
    new_group,
    new_volunteer,
    volunteer_token,
    volunteers_app,
)
from tests.support.services import token

OUTSIDER = token(Role.COORDINATOR, (HOAN_KIEM,))

ROSTER = """name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent
Lò Văn Minh,0912 000 001,Bản Sại,vneid_activation;screen_reader_help,Thái;vi,morning,both,3,yes
Hà Thị Lan,+84912000002,Thôn 3,cashless_payment,,afternoon,,,yes
"""

BAD_ROSTER = """name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent
,0912 000 003,Bản Sại,vneid_activation,vi,morning,,3,yes
Giàng A Páo,12345,Bản Sại,flying,Klingon,midnight,,40,yes
Hà Văn Tư,0912 000 004,Thôn 1,,,,,,yes
"""


async def test_a_coordinator_registers_a_group_once_per_idempotency_key(
    settings: Settings, nc: Client
) -> None:
    body = {"name": "Tổ công nghệ số thôn 3", "commune_code": THIEU_TRUNG}
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        first = await client.post(
            "/groups", json=body, headers={**COORDINATOR, "Idempotency-Key": "g-1"}
        )
        retry = await client.post(
            "/groups", json=body, headers={**COORDINATOR, "Idempotency-Key": "g-1"}
        )
        reused = await client.post(
            "/groups",
            json={**body, "name": "Another"},
            headers={**COORDINATOR, "Idempotency-Key": "g-1"},
        )
        by_province = await client.post("/groups", json=body, headers=PROVINCE_COORDINATOR)
        read = await client.get(f"/groups/{first.json()['group_id']}", headers=COORDINATOR)
        hidden = await client.get(f"/groups/{first.json()['group_id']}", headers=OUTSIDER)

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert reused.status_code == 422
    assert reused.json()["field"] == "Idempotency-Key"
    assert by_province.status_code == 201
    assert by_province.json()["group_id"] != first.json()["group_id"]
    assert read.json()["group"]["name"] == "Tổ công nghệ số thôn 3"
    assert read.json()["members"] == []
    assert hidden.status_code == 403


async def test_group_registration_refuses_bad_input_strangers_and_other_communes(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        no_token = await client.post("/groups", json={"name": "x", "commune_code": THIEU_TRUNG})
        volunteer = await client.post(
            "/groups",
            json={"name": "x", "commune_code": THIEU_TRUNG},
            headers=volunteer_token("someone"),
        )
        outside = await client.post(
            "/groups", json={"name": "x", "commune_code": HOAN_KIEM}, headers=COORDINATOR
        )
        malformed = await client.post(
            "/groups", json={"name": "", "commune_code": "1583"}, headers=COORDINATOR
        )
        unknown = await client.post(
            "/groups", json={"name": "x", "commune_code": "99999"}, headers=token(Role.ADMIN)
        )

    assert no_token.status_code == 401
    assert volunteer.status_code == 403
    assert outside.status_code == 403
    assert malformed.status_code == 400
    assert {e["field"] for e in malformed.json()["errors"]} <= {"name", "commune_code"}
    assert malformed.json()["errors"]
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "commune_code"


async def test_volunteers_are_registered_with_an_e164_phone_that_nobody_else_has(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        created = await new_volunteer(client, group, "0912 345 678", languages=["vi", "blt"])
        same_phone = await client.post(
            "/volunteers",
            json={
                "group_id": group,
                "name": "Twin",
                "phone": "+84912345678",
                "consent_given": True,
            },
            headers=COORDINATOR,
        )
        bad_phone = await client.post(
            "/volunteers",
            json={"group_id": group, "name": "X", "phone": "12345", "consent_given": True},
            headers=COORDINATOR,
        )
        bad_skill = await client.post(
            "/volunteers",
            json={
                "group_id": group,
                "name": "X",
                "phone": "0912345670",
                "skills": ["flying"],
                "consent_given": True,
            },
            headers=COORDINATOR,
        )
        no_group = await client.post(
            "/volunteers",
            json={"group_id": "nope", "name": "X", "phone": "0912345670"},
            headers=COORDINATOR,
        )
        listed = await client.get(f"/communes/{THIEU_TRUNG}/volunteers", headers=COORDINATOR)
        elsewhere = await client.get(f"/communes/{HOAN_KIEM}/volunteers", headers=COORDINATOR)

    assert created["phone"] == "+84912345678"
    assert created["languages"] == ["vi", "blt"]
    assert created["paused"] is False
    assert same_phone.status_code == 409
    assert same_phone.json()["field"] == "phone"
    assert bad_phone.status_code == 422
    assert bad_phone.json()["field"] == "phone"
    assert bad_skill.status_code == 400
    assert bad_skill.json()["errors"][0]["field"] == "skills[0]"
    assert no_group.status_code == 422
    assert no_group.json()["field"] == "group_id"
    assert [v["volunteer_id"] for v in listed.json()] == [created["volunteer_id"]]
    assert elsewhere.status_code == 403


async def test_details_change_by_patch_and_a_volunteer_can_pause_and_resume(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        created = await new_volunteer(client, group, "0912345678")
        vid = created["volunteer_id"]
        patched = await client.patch(
            f"/volunteers/{vid}",
            json={"monthly_limit": 2, "village": "Thôn 5"},
            headers=COORDINATOR,
        )
        by_volunteer = await client.patch(
            f"/volunteers/{vid}", json={"monthly_limit": 9}, headers=volunteer_token(vid)
        )
        too_many = await client.patch(
            f"/volunteers/{vid}", json={"monthly_limit": 99}, headers=COORDINATOR
        )
        resumed_early = await client.post(f"/volunteers/{vid}/resume", headers=volunteer_token(vid))
        paused = await client.post(f"/volunteers/{vid}/pause", headers=volunteer_token(vid))
        resumed = await client.post(f"/volunteers/{vid}/resume", headers=COORDINATOR)
        missing = await client.patch("/volunteers/nobody", json={}, headers=COORDINATOR)

    assert patched.status_code == 200
    assert patched.json()["monthly_limit"] == 2
    assert patched.json()["village"] == "Thôn 5"
    assert patched.json()["name"] == created["name"]
    assert by_volunteer.status_code == 403
    assert too_many.status_code == 400
    assert too_many.json()["field"] == "monthly_limit"
    assert resumed_early.status_code == 409
    assert paused.json()["paused"] is True
    assert resumed.json()["paused"] is False
    assert missing.status_code == 404


async def test_a_volunteer_restates_their_own_availability_but_nobody_elses(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        me = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        other = (await new_volunteer(client, group, "0912345679"))["volunteer_id"]
        body = {
            "availability": {"saturday": ["afternoon"], "sunday": []},
            "exceptions": [{"on": "2026-06-07", "available": True, "half_days": ["morning"]}],
        }
        mine = await client.put(
            f"/volunteers/{me}/availability", json=body, headers=volunteer_token(me)
        )
        theirs = await client.put(
            f"/volunteers/{other}/availability", json=body, headers=volunteer_token(me)
        )
        contradictory = await client.put(
            f"/volunteers/{me}/availability",
            json={
                "availability": {"saturday": [], "sunday": []},
                "exceptions": [
                    {"on": "2026-06-07", "available": True, "half_days": ["morning"]},
                    {"on": "2026-06-07", "available": False, "half_days": ["morning"]},
                ],
            },
            headers=COORDINATOR,
        )
        bad_half = await client.put(
            f"/volunteers/{me}/availability",
            json={"availability": {"saturday": ["night"]}},
            headers=volunteer_token(me),
        )
        read = await client.get(f"/volunteers/{me}", headers=volunteer_token(me))

    assert mine.status_code == 200
    assert mine.json()["availability"] == {
        "saturday": ["afternoon"],
        "sunday": [],
        "monday": [],
        "tuesday": [],
        "wednesday": [],
        "thursday": [],
        "friday": [],
    }
    assert theirs.status_code == 403
    assert contradictory.status_code == 422
    assert contradictory.json()["field"] == "exceptions"
    assert bad_half.status_code == 400
    assert read.json()["exceptions"][0]["on"] == "2026-06-07"


async def test_a_usual_week_without_exceptions_keeps_the_stored_ones_and_an_empty_list_clears(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        me = (await new_volunteer(client, group, "0912345678"))["volunteer_id"]
        away = {"on": "2026-06-07", "available": False, "half_days": ["morning", "afternoon"]}
        token = volunteer_token(me)
        url = f"/volunteers/{me}/availability"
        await client.put(
            url,
            json={"availability": {"saturday": ["morning"]}, "exceptions": [away]},
            headers=token,
        )
        week_only = await client.put(
            url, json={"availability": {"sunday": ["afternoon"]}}, headers=token
        )
        cleared = await client.put(
            url, json={"availability": {"sunday": ["afternoon"]}, "exceptions": []}, headers=token
        )
        documented = (await client.get("/schema/openapi.json")).json()

    assert week_only.status_code == 200
    assert week_only.json()["availability"]["sunday"] == ["afternoon"]
    assert week_only.json()["exceptions"] == [away]
    assert cleared.status_code == 200
    assert cleared.json()["exceptions"] == []
    put = documented["paths"]["/volunteers/{volunteer_id}/availability"]["put"]
    schema = put["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["availability"]
    assert "omitted, the stored ones stay" in schema["properties"]["exceptions"]["description"]


async def test_a_roster_imports_every_member_or_reports_every_wrong_row(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        await new_volunteer(client, group, "0912000004", name="Already here")
        csv_headers = {**COORDINATOR, "Content-Type": "text/csv"}
        rejected = await client.post(
            f"/groups/{group}/roster", content=BAD_ROSTER.encode(), headers=csv_headers
        )
        clash = await client.post(
            f"/groups/{group}/roster",
            content=(ROSTER + "Trùng,0912000004,,,,,,,yes\n").encode(),
            headers=csv_headers,
        )
        imported = await client.post(
            f"/groups/{group}/roster",
            content=ROSTER.encode(),
            headers={**csv_headers, "Idempotency-Key": "roster-1"},
        )
        retried = await client.post(
            f"/groups/{group}/roster",
            content=ROSTER.encode(),
            headers={**csv_headers, "Idempotency-Key": "roster-1"},
        )
        outsider = await client.post(
            f"/groups/{group}/roster", content=ROSTER.encode(), headers=OUTSIDER
        )
        members = (await client.get(f"/groups/{group}", headers=COORDINATOR)).json()["members"]

    assert rejected.status_code == 422
    body = rejected.json()
    assert body["type"].endswith("/roster-rejected")
    assert body["detail"] == "2 row(s) rejected; nothing was imported"
    assert [e["field"] for e in body["errors"]] == ["line 2", "line 3"]
    assert "name is empty" in body["errors"][0]["message"]
    for reason in ("phone", "unknown skill 'flying'", "unknown language 'Klingon'", "saturday"):
        assert reason in body["errors"][1]["message"]
    assert clash.status_code == 422
    assert [e["field"] for e in clash.json()["errors"]] == ["line 4"]
    assert imported.status_code == 201
    assert imported.json()["imported"] == 2
    assert retried.json() == imported.json()
    assert outsider.status_code == 403
    by_name = {m["name"]: m for m in members}
    assert set(by_name) == {"Already here", "Lò Văn Minh", "Hà Thị Lan"}
    minh = by_name["Lò Văn Minh"]
    assert minh["phone"] == "+84912000001"
    assert minh["languages"] == ["blt", "vi"]
    assert minh["preferred_language"] == "blt"
    assert minh["availability"] == {
        "saturday": ["morning"],
        "sunday": ["morning", "afternoon"],
        "monday": [],
        "tuesday": [],
        "wednesday": [],
        "thursday": [],
        "friday": [],
    }


async def test_a_coordinator_sees_only_their_communes(settings: Settings, nc: Client) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client, THIEU_TOAN)
        created = await new_volunteer(client, group, "0912345678")
        seen = await client.get(f"/volunteers/{created['volunteer_id']}", headers=COORDINATOR)
        unseen = await client.get(f"/volunteers/{created['volunteer_id']}", headers=OUTSIDER)
        unauthenticated = await client.get(f"/volunteers/{created['volunteer_id']}")

    assert seen.status_code == 200
    assert unseen.status_code == 403
    assert unauthenticated.status_code == 401


async def test_a_communes_groups_are_listed_oldest_first_to_its_coordinators_only(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        first = await new_group(client, name="Tổ CNS thôn 1")
        second = await new_group(client, name="Tổ CNS thôn 2")
        await new_group(client, commune=THIEU_TOAN, name="Tổ CNS Thiệu Toán")
        await new_volunteer(client, second, "0912345678")
        listed = await client.get(f"/communes/{THIEU_TRUNG}/groups", headers=COORDINATOR)
        outsider = await client.get(f"/communes/{THIEU_TRUNG}/groups", headers=OUTSIDER)

    assert listed.status_code == 200, listed.text
    assert [g["group_id"] for g in listed.json()] == [first, second]
    assert [g["members"] for g in listed.json()] == [0, 1]
    assert outsider.status_code == 403


async def test_registration_and_import_without_consent_are_refused_and_register_nobody(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        unasked = await client.post(
            "/volunteers",
            json={"group_id": group, "name": "Lò Văn Minh", "phone": "0912000901"},
            headers=COORDINATOR,
        )
        wrong_wording = await client.post(
            "/volunteers",
            json={
                "group_id": group,
                "name": "Lò Văn Minh",
                "phone": "0912000901",
                "consent_given": True,
                "consent_wording": "help-v1",
            },
            headers=COORDINATOR,
        )
        csv_headers = {**COORDINATOR, "Content-Type": "text/csv"}
        old_file = await client.post(
            f"/groups/{group}/roster",
            content=b"name,phone,village,skills,languages,saturday,sunday,monthly_limit\n"
            b"L\xc3\xb2 V\xc4\x83n Minh,0912000901,,,,morning,,\n",
            headers=csv_headers,
        )
        said_no = await client.post(
            f"/groups/{group}/roster",
            content=(ROSTER.replace("morning,both,3,yes", "morning,both,3,no")).encode(),
            headers=csv_headers,
        )
        members = (await client.get(f"/groups/{group}", headers=COORDINATOR)).json()["members"]
        agreed = await client.post(
            "/volunteers",
            json={
                "group_id": group,
                "name": "Lò Văn Minh",
                "phone": "0912000901",
                "consent_given": True,
                "consent_channel": "console",
            },
            headers=COORDINATOR,
        )
        imported = await client.post(
            f"/groups/{group}/roster",
            content=ROSTER.encode(),
            headers=csv_headers,
        )
        [member] = [
            m
            for m in (await client.get(f"/groups/{group}", headers=COORDINATOR)).json()["members"]
            if m["volunteer_id"] == imported.json()["volunteer_ids"][0]
        ]

    assert members == []  # nothing of the refused ones was kept
    assert agreed.status_code == 201, agreed.text
    consent = agreed.json()["consent"]
    assert {k: v for k, v in consent.items() if k != "given_at"} == {
        "purpose": "volunteering",
        "channel": "console",
        "wording_version": "volunteer-v1",
        "recorded_by": "coordinator",
        "recorded_by_id": "tester",  # the token's subject
        "sensitive": False,
    }
    assert member["consent"]["channel"] == "roster_import"
    assert unasked.status_code == 422
    assert unasked.json()["field"] == "consent_given"
    assert (wrong_wording.status_code, wrong_wording.json()["field"]) == (422, "consent_wording")
    assert old_file.status_code == 422
    assert old_file.json()["errors"] == [
        {"field": "line 1", "message": "missing column(s): consent"}
    ]
    assert said_no.status_code == 422
    assert said_no.json()["errors"] == [
        {
            "field": "line 2",
            "message": "consent 'no' must be yes (the member agrees to us keeping their details)",
        }
    ]
