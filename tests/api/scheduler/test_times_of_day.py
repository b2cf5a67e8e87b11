"""Session and visit hours are times of day, written as people write them."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.scheduler.helpers import Tokens, event_types, problem_fields, session_body

Client = AsyncTestClient[Litestar]


async def test_a_session_takes_hours_written_hh_mm(client: Client, tokens: Tokens) -> None:
    made = await client.post(
        "/sessions", json=session_body(start_local="08:00", end_local="11:30"), headers=tokens()
    )

    assert made.status_code == 201, made.json()
    assert (made.json()["start_local"], made.json()["end_local"]) == ("08:00:00", "11:30:00")
    assert made.json()["starts_at"] == "2026-03-07T01:00:00Z"


async def test_a_duration_or_a_bare_hour_is_refused_naming_the_field(
    client: Client, tokens: Tokens
) -> None:
    duration = await client.post(
        "/sessions", json=session_body(start_local="PT8H"), headers=tokens()
    )
    bare = await client.post("/sessions", json=session_body(end_local="11"), headers=tokens())

    assert (duration.status_code, problem_fields(duration)) == (400, ["start_local"])
    assert "HH:MM" in duration.json()["detail"]
    assert (bare.status_code, problem_fields(bare)) == (400, ["end_local"])
    assert await event_types(client) == []


async def test_the_document_calls_them_times_of_day_not_durations(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["paths"]["/sessions"]["post"]["requestBody"]["content"]["application/json"]
    start = body["schema"]["properties"]["start_local"]
    answer = schema["paths"]["/sessions/{session_id}"]["get"]["responses"]["200"]
    shown = answer["content"]["application/json"]["schema"]["properties"]["start_local"]

    assert "duration" not in str(schema)
    assert start["type"] == "string"
    assert "HH:MM" in start["description"]
    assert shown["type"] == "string"
