"""`POST /v1/subject-access`: what one service holds about one person, asked by the console
to assemble the person's own copy (issue 16, subject access). Only a service token may ask,
as for `POST /v1/person-keys`; the answer opens every personal value, so it is never cached
and never logged."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import post
from litestar.handlers import HTTPRouteHandler

from shared.phones import normalize_phone
from shared.web.auth import Caller, ForbiddenError, Role
from shared.web.openapi import BEARER
from shared.web.problems import InvalidInputError

PATH = "/v1/subject-access"
# The answer holds a person's data: no cache anywhere may keep it.
NO_STORE = {"Cache-Control": "no-store"}

PersonId = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class SubjectAccessAsked(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The person, by their number (E.164) and/or the id a service knows them by; `reminders_of`
    names the bookings and assignments whose planned reminders notifications gives (only those
    to this number)."""

    phone: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    request_id: PersonId | None = None
    volunteer_id: PersonId | None = None
    reminders_of: Annotated[list[PersonId], msgspec.Meta(max_length=200)] = []


class Holding(enum.StrEnum):
    """What a section says of the person: their data (`held`), nothing known, or erased
    (ids and statuses only, no personal value)."""

    HELD = "held"
    NOTHING = "nothing_held"
    ERASED = "erased"


class SubjectAccessSection(msgspec.Struct, frozen=True, kw_only=True):
    """One service's part of the copy: which service, when it was made, and what it holds."""

    service: str
    made_at: datetime
    status: Holding
    data: dict[str, Any] = {}


def asked_phone(asked: SubjectAccessAsked) -> str | None:
    """The number asked about in E.164; a wrong one, or nobody named at all, is refused (422
    naming the field)."""
    if asked.phone is None and asked.request_id is None and asked.volunteer_id is None:
        raise InvalidInputError("phone", "name the person: phone, request_id or volunteer_id")
    if asked.phone is None:
        return None
    return normalize_phone(asked.phone)


def require_service(caller: Caller) -> None:
    """Only another HandInHand service (the console) may read a person's whole record."""
    if caller.role is not Role.SERVICE:
        raise ForbiddenError(f"role {caller.role.value} may not read a person's record")


def section(
    service: str, made_at: datetime, data: msgspec.Struct, *, held: bool, erased: bool
) -> SubjectAccessSection:
    """A section of `data` (a service's own Struct), saying held, erased or nothing."""
    status = Holding.HELD if held else Holding.ERASED if erased else Holding.NOTHING
    return SubjectAccessSection(
        service=service, made_at=made_at, status=status, data=msgspec.to_builtins(data)
    )


def subject_access_route(*, summary: str, description: str) -> HTTPRouteHandler:
    """`POST /v1/subject-access` as every service declares it: internal, a token required."""
    return post(
        PATH,
        summary=summary,
        description=description,
        tags=["internal"],
        security=[{BEARER: []}],
        status_code=200,
    )
