"""Routes of help requests and the bookings they lead to."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from services.scheduler.api.access import BEARER, read_scope, scope_of
from services.scheduler.api.answers import once, rejected
from services.scheduler.api.bodies import (
    BookingCancel,
    BookingChange,
    CommuneQueue,
    HelpRequestCreate,
    WaitingResident,
)
from services.scheduler.domain.errors import HelpRequestRejectedError
from services.scheduler.domain.places import find_commune
from services.scheduler.domain.requests import RequestHelp
from services.scheduler.handlers import bookings, erasure, placing
from services.scheduler.intake import HelpDesk
from services.scheduler.memory import Memory
from services.scheduler.quota import Asker
from services.scheduler.views import mappers, queries
from shared.events.base import Cause
from shared.events.consent import ConsentActor, ConsentChannel
from shared.events.scheduler import (
    Actor,
    Channel,
    HelpRequestId,
)
from shared.events.vocabulary import Accessibility, Language, Topic
from shared.phones import InvalidPhoneError, normalize_phone
from shared.store.eventstore import EventStore, Transaction
from shared.web.app import cause_of
from shared.web.auth import Caller, Role, optional_caller
from shared.web.idempotency import IdempotencyKey, check_key, new_id
from shared.web.openapi import OPTIONAL_BEARER
from shared.web.problems import NotFoundError

_CHANNELS = {Role.VOLUNTEER: Channel.VOLUNTEER, Role.COORDINATOR: Channel.COORDINATOR}
# Who noted the resident's consent: staff filing on their behalf, or the resident on the form.
_CONSENT_BY = {
    Channel.VOLUNTEER: ConsentActor.VOLUNTEER,
    Channel.COORDINATOR: ConsentActor.COORDINATOR,
}


@post(
    "/help-requests",
    summary="Ask for help (public, no token needed); booked into the best session at once",
    description="Without a token the request is rate limited per client address and per phone "
    "number (429 with Retry-After). Volunteers and coordinators filing on a resident's behalf "
    "send their token (the channel is recorded). The answer says where the request stands: "
    "booked (with the session), waiting, or home_visit, and the resident's `consent` record. "
    "Without `consent_given`, or with a sensitive need (`disabled`, `minority`, "
    "`accessibility_needs`, a `preferred_language` other than `vi`) and no "
    "`sensitive_consent_given`, it is refused (422 naming the field) and nothing is filed. "
    "Accepts Idempotency-Key.",
    tags=["help requests"],
    security=OPTIONAL_BEARER,
    responses={
        429: ResponseSpec(
            None,
            description="Too many requests from this client address or for this phone number "
            "(without a token); `Retry-After` says when to try again.",
        )
    },
)
async def create_help_request(
    data: JSONBody[HelpRequestCreate],
    request: Request[Any, Any, Any],
    desk: NamedDependency[HelpDesk],
    key: IdempotencyKey = None,
) -> Response[mappers.HelpRequestView]:
    # The busiest route takes one dependency and reads the rest off the request: Litestar
    # resolves sibling dependencies in a task group, a task each, which cost a quarter of
    # the scheduler's CPU under load (docs/performance.md).
    runtime = desk.runtime
    store, now = runtime.store, runtime.clock.now()
    maybe_caller = optional_caller(
        runtime.settings.token_keys, runtime.revocations, request.headers.get("authorization"), now
    )
    idempotency_key = check_key(key)
    cause = cause_of(request, idempotency_key)
    client = None  # staff filing on a resident's behalf: their address is not limited
    if maybe_caller is None:
        client = request.client.host if request.client else "unknown"
        channel, filed_by = Channel.WEB, None
    else:
        maybe_caller.require(Role.COORDINATOR, Role.VOLUNTEER)
        channel, filed_by = _CHANNELS.get(maybe_caller.role, Channel.COORDINATOR), maybe_caller.sub
    phone = None
    with contextlib.suppress(InvalidPhoneError):  # a wrong phone is refused below, by field
        phone = normalize_phone(data.phone)
    asker = Asker(client, phone)
    key_scope = f"help-requests:{filed_by or 'public'}"

    given = msgspec.structs.asdict(data) | {
        "consent_channel": ConsentChannel(data.consent_channel),
        "consent_by": _CONSENT_BY.get(channel, ConsentActor.RESIDENT),
    }

    def command() -> RequestHelp:
        return RequestHelp(
            request_id=HelpRequestId(new_id("request", idempotency_key, key_scope)),
            channel=channel,
            filed_by=filed_by,
            **given,
        )

    if idempotency_key is None:  # placed with the requests arriving meanwhile
        try:
            outcome = await desk.place(command(), cause, asker)
        except HelpRequestRejectedError as error:
            raise rejected([(p.field, p.message) for p in error.problems]) from None
        return Response(_placed_view(outcome, channel), status_code=201)

    await desk.quota.take(asker)  # a retry counts again, as any request does

    async def work(tx: Transaction) -> mappers.HelpRequestView:
        try:
            outcome = await placing.request_help(
                tx, command(), memory=desk.memory, now=store.clock.now(), cause=cause
            )
        except HelpRequestRejectedError as error:
            raise rejected([(p.field, p.message) for p in error.problems]) from None
        return _placed_view(outcome, channel)

    return await once(store, idempotency_key, key_scope, request, mappers.HelpRequestView, work)


async def _request_view(conn: Any, request_id: FromPath[str]) -> mappers.HelpRequestView:
    view = await mappers.request_view(conn, request_id)
    if view is None:
        raise NotFoundError(f"no help request {request_id}")
    return view


def _placed_view(outcome: placing.RequestOutcome, channel: Channel) -> mappers.HelpRequestView:
    """A new request as `_request_view` will show it, from what placing it decided (no reads)."""
    request, booked = outcome
    return mappers.HelpRequestView(
        request_id=request.request_id,
        status=request.status.value,
        channel=channel.value,
        resident_name=request.resident_name,
        phone=request.phone,
        commune_code=request.commune_code,
        topics=list(request.topics),
        home_visit=request.home_visit,
        session_id=request.session_id,
        booking_id=request.booking_id,
        visit_id=request.visit_id,
        venue=booked.venue if booked else None,
        when=booked.when if booked else None,
        consent=request.consent,
    )


@get(
    "/help-requests/{request_id:str}",
    summary="One help request and where it stands (coordinator of its commune)",
    tags=["help requests"],
    security=BEARER,
)
async def get_help_request(
    request_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> mappers.HelpRequestView:
    async with store.reader.connect() as conn:
        view = await _request_view(conn, request_id)
    commune_found = find_commune(view.commune_code)
    read_scope(caller, view.commune_code, commune_found.province_code if commune_found else "")
    return view


@post(
    "/help-requests/{request_id:str}/erasure",
    summary="Forget a resident: their name, phone and address, everywhere (coordinator, admin)",
    description="Cancels the resident's upcoming booking, then asks every service to forget "
    "them; their data key is destroyed once the notifications service has forgotten the "
    "number and texted them (at the latest after ten minutes). The request answers at once "
    "with status `erasing`, later `erased`; its counts stay in reports. Asked again, nothing "
    "more happens. The console's erasure page calls this; a resident may also ask by SMS "
    "(XOA and a confirmation code), which erases every request of their number.",
    tags=["help requests"],
    security=BEARER,
    status_code=202,
)
async def erase_help_request(
    request_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.HelpRequestView:
    caller.require(Role.COORDINATOR)
    async with store.transaction() as tx:
        await erasure.request_erasure(
            tx,
            request_id,
            by=Actor.COORDINATOR,
            scope=scope_of(caller),
            memory=memory,
            now=store.clock.now(),
            cause=cause,
        )
        return await _request_view(tx.conn, request_id)


def _booking_actor(caller: Caller | None) -> tuple[Actor, tuple[str, ...] | None]:
    if caller is None:
        return Actor.RESIDENT, None
    caller.require(Role.COORDINATOR, Role.VOLUNTEER)
    actor = Actor.VOLUNTEER if caller.role is Role.VOLUNTEER else Actor.COORDINATOR
    return actor, scope_of(caller)


@post(
    "/bookings/{booking_id:str}/cancel",
    summary="Give up a booking; the place goes to the waitlist at once",
    description="A resident sends the phone number the booking was made with; volunteers and "
    "coordinators send their token instead.",
    tags=["help requests"],
    security=OPTIONAL_BEARER,
    status_code=200,
)
async def cancel_booking(
    booking_id: FromPath[str],
    data: JSONBody[BookingCancel],
    maybe_caller: NamedDependency[Caller | None],
    store: NamedDependency[EventStore],
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.BookingView:
    actor, scope = _booking_actor(maybe_caller)
    async with store.transaction() as tx:
        await bookings.cancel_booking(
            tx,
            booking_id,
            actor=actor,
            reason=data.reason,
            phone=data.phone,
            scope=scope,
            memory=memory,
            now=store.clock.now(),
            cause=cause,
        )
        row = await queries.booking_row(tx.conn, booking_id)
    assert row is not None
    return mappers.booking_view(None, row)


@post(
    "/bookings/{booking_id:str}/change",
    summary="Move a booking to another session; the old place goes to the waitlist",
    description="Answers with the new booking. A resident sends the phone number the booking "
    "was made with; volunteers and coordinators send their token instead.",
    tags=["help requests"],
    security=OPTIONAL_BEARER,
    status_code=200,
)
async def change_booking(
    booking_id: FromPath[str],
    data: JSONBody[BookingChange],
    maybe_caller: NamedDependency[Caller | None],
    store: NamedDependency[EventStore],
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.BookingView:
    actor, scope = _booking_actor(maybe_caller)
    async with store.transaction() as tx:
        booked = await bookings.change_booking(
            tx,
            booking_id,
            new_session_id=data.new_session_id,
            actor=actor,
            phone=data.phone,
            scope=scope,
            memory=memory,
            now=store.clock.now(),
            cause=cause,
        )
        row = await queries.booking_row(tx.conn, booked.booking_id)
    assert row is not None
    return mappers.booking_view(booked, row)


@get(
    "/communes/{code:str}/waiting",
    summary="A commune's residents still waiting: for a session place, or for a home visit",
    description="Requests on the waitlist (who asked first first) and home visits requested or "
    "scheduled, not yet done. Coordinator of the commune or its province, or admin.",
    tags=["help requests"],
    security=BEARER,
)
async def get_commune_waiting(
    code: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> CommuneQueue:
    found = find_commune(code)
    if found is None:
        raise NotFoundError(f"no commune or ward {code}")
    read_scope(caller, found.code, found.province_code)
    async with store.reader.connect() as conn:
        waiting = await queries.commune_waiting(conn, found.code)
        visits = await queries.commune_open_visits(conn, found.code)
    return CommuneQueue(
        waiting=[
            WaitingResident(
                request_id=r.request_id,
                name=r.resident_name,
                phone=r.phone,
                commune_code=r.commune_code,
                topics=[Topic(t) for t in r.topics],
                accessibility_needs=[Accessibility(a) for a in r.accessibility_needs],
                preferred_language=Language(r.preferred_language),
                waiting_since=r.requested_at,
            )
            for r in waiting
        ],
        home_visits=[mappers.visit_view(v) for v in visits],
    )
