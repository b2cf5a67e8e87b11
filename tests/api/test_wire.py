"""What any service answers to input it cannot take: problem details naming what the client
sent, by the name it sent it, and an OpenAPI document that says so."""

from __future__ import annotations

import pytest

from shared.settings import SERVICES, Settings
from tests.support.services import service_client, token

ADMIN = token()


@pytest.mark.parametrize("service", SERVICES)
async def test_every_documented_error_is_problem_details(service: str, settings: Settings) -> None:
    async with service_client(service, settings) as client:
        schema = (await client.get("/schema/openapi.json")).json()

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            # Said in words, not Litestar's stand-in, the handler's name ("CreateGroup").
            assert " " in operation["summary"], (method, path, operation["summary"])
            errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
            assert "500" in errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (path, code)
            if operation.get("security"):
                assert "403" in errors, (method, path)
            if "{" in path:
                assert "404" in errors, (method, path)


async def test_a_missing_body_is_named_body(settings: Settings) -> None:
    async with service_client("volunteers", settings) as client:
        response = await client.post("/groups", headers=ADMIN)

    assert response.status_code == 400
    assert response.json()["field"] == "body"
    assert response.json()["detail"] == "body: a request body is required"


async def test_a_query_parameter_is_named_as_sent(settings: Settings) -> None:
    async with service_client("volunteers", settings) as client:
        since = await client.get("/communes/15835/hours", params={"from": "x"}, headers=ADMIN)
        until = await client.get("/communes/15835/hours", params={"to": "x"}, headers=ADMIN)
        reversed_ = await client.get(
            "/communes/15835/hours",
            params={"from": "2026-03-02", "to": "2026-03-01"},
            headers=ADMIN,
        )

    assert (since.status_code, since.json()["field"]) == (400, "from")
    assert (until.status_code, until.json()["field"]) == (400, "to")
    assert (reversed_.status_code, reversed_.json()["field"]) == (422, "to")


async def test_a_bad_date_in_a_path_is_a_400_naming_it(settings: Settings) -> None:
    async with service_client("volunteers", settings) as client:
        response = await client.get("/weekends/not-a-date/plan", headers=ADMIN)

    assert response.status_code == 400
    assert response.json()["field"] == "day"


async def test_options_lists_every_method_of_the_path(settings: Settings) -> None:
    async with service_client("volunteers", settings) as client:
        volunteer = await client.options("/volunteers/some-id")
        plan = await client.options("/weekends/2026-03-07/plan")

    assert volunteer.headers["allow"] == "GET, OPTIONS, PATCH"
    assert plan.headers["allow"] == "GET, OPTIONS, POST"


async def test_a_body_is_taken_as_typed_not_coerced(settings: Settings) -> None:
    async with service_client("notifications", settings) as client:
        coerced = await client.put(
            "/recipients/0912345678/preferences", json={"strip_diacritics": 0}, headers=ADMIN
        )
        typed = await client.put(
            "/recipients/0912345678/preferences", json={"strip_diacritics": False}, headers=ADMIN
        )

    assert (coerced.status_code, coerced.json()["field"]) == (400, "strip_diacritics")
    assert typed.status_code == 200


async def test_a_phone_in_a_path_is_constrained_in_the_document_and_checked(
    settings: Settings,
) -> None:
    async with service_client("notifications", settings) as client:
        schema = (await client.get("/schema/openapi.json")).json()
        letters = await client.get("/recipients/abc/consent", headers=ADMIN)
        not_a_number = await client.get("/recipients/.........../consent", headers=ADMIN)

    (phone,) = schema["paths"]["/recipients/{phone}/consent"]["get"]["parameters"]
    assert "pattern" in phone["schema"]
    assert (letters.status_code, letters.json()["field"]) == (400, "phone")
    assert (not_a_number.status_code, not_a_number.json()["field"]) == (422, "phone")
