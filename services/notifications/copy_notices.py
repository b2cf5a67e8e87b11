"""`POST /v1/copy-notices`: the console, having handed a resident's own copy to a coordinator
(issue 16, subject access), asks for the one SMS that tells the resident so (`copy_given`).
Queued like any SMS (quiet hours, opt-out, retries); the same copy twice is one SMS."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from services.notifications import handlers
from services.notifications.domain.templates import CopyGivenContext
from services.notifications.service import Notifications
from shared.events.base import Cause
from shared.events.notifications import SmsKind
from shared.phones import normalize_phone
from shared.store.eventstore import EventStore
from shared.web.auth import Caller
from shared.web.openapi import BEARER
from shared.web.subject_access import require_service


class CopyNoticeCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which copy (its id, a UUID), to whose number, handed out when."""

    copy_id: UUID
    phone: Annotated[str, msgspec.Meta(max_length=20)]
    given_at: Annotated[datetime, msgspec.Meta(tz=True)]


class CopyNoticeQueued(msgspec.Struct, frozen=True, kw_only=True):
    """The SMS written down, or null: this copy's notice was queued already."""

    message_id: str | None


@post(
    "/v1/copy-notices",
    summary="Tell a resident by SMS that a copy of their data was handed to a coordinator",
    description="Only a token with the role `service` may ask (the console, after giving a "
    "resident's own copy). Queues one `copy_given` SMS in the resident's language; asked again "
    "for the same `copy_id`, nothing more is queued.",
    tags=["internal"],
    security=[{BEARER: []}],
    status_code=202,
)
async def post_copy_notice(
    request: Request[Any, Any, State],
    data: JSONBody[CopyNoticeCreate],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> CopyNoticeQueued:
    require_service(caller)
    phone = normalize_phone(data.phone)
    service = request.app.state.service
    assert isinstance(service, Notifications)
    async with store.transaction() as tx:
        queued = await handlers.queue_sms(
            tx,
            settings=service.sms,
            now=store.clock.now(),
            cause=cause,
            cause_id=data.copy_id,
            phone=phone,
            kind=SmsKind.COPY_GIVEN,
            context=lambda _language: CopyGivenContext(given_at=data.given_at),
        )
    return CopyNoticeQueued(message_id=queued)
