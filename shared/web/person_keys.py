"""`POST /v1/person-keys`: an owning service gives another service the data keys of its
people, so that service can open the personal values of the owner's events (the SMS to a
resident). Only a service token may ask; keys never travel on NATS (a stream keeps what it
is given, and a key kept there would outlive an erasure)."""

from __future__ import annotations

import base64
from typing import Annotated

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from shared.personal.guard import PersonalData
from shared.store.eventstore import EventStore
from shared.web.auth import Caller, ForbiddenError, Role
from shared.web.openapi import BEARER

MAX_ASKED = 1000

PersonId = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class PersonKeysAsked(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    person_ids: Annotated[list[PersonId], msgspec.Meta(min_length=1, max_length=MAX_ASKED)]


class PersonKeysGiven(msgspec.Struct, frozen=True, kw_only=True):
    """Each asked person's data key (base64), or null: erased, or never known here."""

    keys: dict[str, str | None]


@post(
    "/v1/person-keys",
    summary="Data keys of this service's people, for another HandInHand service",
    description="Only a token with the role `service` may ask. A person who was erased, or is "
    "not known here, gets null: their sealed values no longer open anywhere.",
    tags=["internal"],
    security=[{BEARER: []}],
    status_code=200,
)
async def give_person_keys(
    data: JSONBody[PersonKeysAsked],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
) -> PersonKeysGiven:
    if caller.role is not Role.SERVICE:
        raise ForbiddenError(f"role {caller.role.value} may not ask for data keys")
    personal: PersonalData | None = store.personal
    keys: dict[str, str | None] = dict.fromkeys(data.person_ids)
    if personal is not None:
        for person_id, key in (await personal.keys_to_give(data.person_ids)).items():
            keys[person_id] = base64.b64encode(key.material).decode()
    return PersonKeysGiven(keys=keys)
