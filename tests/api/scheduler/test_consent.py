"""A help request's consent record over HTTP: kept with the request and shown with it; a
sensitive need without explicit consent is refused and changes nothing."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    Tokens,
    event_types,
    help_body,
    problem_fields,
    session_body,
)

Client = AsyncTestClient[Litestar]


async def test_the_consent_record_is_shown_with_the_request_as_filed(
    client: Client, tokens: Tokens
) -> None:
    await client.post("/sessions", json=session_body(), headers=tokens())
    filed = await client.post(
        "/help-requests",
        json=help_body(consent_channel="console", disabled=True, accessibility_needs=["step_free"]),
        headers=tokens(Role.COORDINATOR),
    )
    seen = await client.get(f"/help-requests/{filed.json()['request_id']}", headers=tokens())

    assert filed.status_code == 201
    consent = filed.json()["consent"]
    assert {k: v for k, v in consent.items() if k != "given_at"} == {
        "purpose": "help_sessions",
        "channel": "console",
        "wording_version": "help-v1",
        "recorded_by": "coordinator",
        "recorded_by_id": "coordinator-1",
        "sensitive": True,
    }
    assert seen.json()["consent"] == consent


async def test_a_resident_on_the_public_form_records_their_own_consent(client: Client) -> None:
    filed = await client.post("/help-requests", json=help_body(sensitive_consent_given=False))

    assert filed.status_code == 201
    consent = filed.json()["consent"]
    assert (consent["channel"], consent["recorded_by"], consent["recorded_by_id"]) == (
        "api",
        "resident",
        None,
    )
    assert consent["sensitive"] is False


async def test_a_sensitive_need_without_explicit_consent_is_refused_and_nothing_changes(
    client: Client, tokens: Tokens
) -> None:
    await client.post("/sessions", json=session_body(), headers=tokens())
    logged = await event_types(client)
    needs: tuple[dict[str, object], ...] = (
        {"minority": True},
        {"disabled": True},
        {"preferred_language": "hmn"},
        {"accessibility_needs": ["screen_reader_help"]},
    )
    refused = [
        await client.post(
            "/help-requests",
            json=help_body(f"091200077{n}", sensitive_consent_given=False, **need),
        )
        for n, need in enumerate(needs)
    ]
    waiting = await client.get("/communes/15835/waiting", headers=tokens())

    for answer in refused:
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem_fields(answer) == ["sensitive_consent_given"]
    assert await event_types(client) == logged
    assert waiting.json()["waiting"] == []


async def test_an_unknown_wording_or_a_channel_of_another_path_is_refused(client: Client) -> None:
    unknown = await client.post("/help-requests", json=help_body(consent_wording="help-v0"))
    by_sms = await client.post("/help-requests", json=help_body(consent_channel="sms"))

    assert (unknown.status_code, problem_fields(unknown)) == (422, ["consent_wording"])
    assert by_sms.status_code == 400  # only the SMS path records consent by SMS
    assert problem_fields(by_sms)[0].startswith("consent_channel")
    assert await event_types(client) == []
