"""HTTP routes of the notifications service: provider webhooks (signed), the message record
for coordinators, the console provider's outbox, consent and coordinator contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

import msgspec
from litestar import MediaType, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter

from services.notifications import handlers
from services.notifications.copy_notices import post_copy_notice
from services.notifications.delivery import SmsChannel
from services.notifications.domain.audience import Audience, audience_of
from services.notifications.domain.messages import may_send
from services.notifications.providers.console import ConsoleMessage
from services.notifications.providers.signatures import verify_twilio_signature
from services.notifications.providers.twilio import parse_inbound_sms, parse_status_callback
from services.notifications.service import Notifications
from services.notifications.sign_in import send_sign_in_code
from services.notifications.subject_access import give_subject_access
from services.notifications.views import queries
from shared.communes import province_of
from shared.events.base import Cause
from shared.events.notifications import CoordinatorContactSet, SmsKind, SmsLanguage
from shared.phones import InvalidPhoneError, inbound_e164, mask_phone, normalize_phone
from shared.runtime import Runtime
from shared.store.eventstore import EventStore
from shared.web.app import cause_of
from shared.web.auth import Caller, ForbiddenError, Role
from shared.web.openapi import BEARER
from shared.web.person_keys import give_person_keys
from shared.web.phones import PathPhone, QueryPhone, WrittenPhone
from shared.web.problems import InvalidInputError, NotFoundError

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_LIST = 500
SIGNATURE = "webhookSignature"
SIGNED: list[dict[str, list[str]]] = [{SIGNATURE: []}]
TOKEN: list[dict[str, list[str]]] = [{BEARER: []}]
# The subject of the tokens the console mints for itself (services/console/peers.py).
CONSOLE_SUBJECT = "console"


class InboundSmsForm(msgspec.Struct, frozen=True, kw_only=True):
    """An inbound SMS as a Twilio-compatible provider posts it; other fields are signed too,
    and ignored."""

    MessageSid: Annotated[str, msgspec.Meta(min_length=1, description="the provider's id")]
    From: Annotated[str, msgspec.Meta(min_length=1, description="the sender's phone number")]
    To: Annotated[str, msgspec.Meta(description="our number")] = ""
    Body: Annotated[str, msgspec.Meta(description="the text, e.g. GIUP VNEID 15835")] = ""


class StatusCallbackForm(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery receipt as a Twilio-compatible provider posts it."""

    MessageSid: Annotated[str, msgspec.Meta(min_length=1, description="the id it gave our SMS")]
    MessageStatus: Annotated[
        str, msgspec.Meta(min_length=1, description="queued, sent, delivered, read, failed...")
    ]
    ErrorCode: Annotated[str, msgspec.Meta(description="the provider's error code")] = ""


class ConsentView(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a number still gets SMS, and what it chose."""

    phone: str
    opted_out: bool
    known: bool
    language: SmsLanguage | None = None
    strip_diacritics: bool | None = None
    changed_at: datetime | None = None


MAX_OPT_OUT_CHECK = 1000


class OptOutCheck(msgspec.Struct, frozen=True, kw_only=True):
    """Numbers to check, in the body (a phone never goes in a URL, where logs keep it)."""

    phones: Annotated[list[WrittenPhone], msgspec.Meta(max_length=MAX_OPT_OUT_CHECK)]
    kind: Annotated[
        SmsKind | None,
        msgspec.Meta(
            description="the SMS about to be sent: only the numbers it would skip are named "
            "(a deployment may still send cancellations to opted-out numbers, "
            "HANDINHAND_SMS_ESSENTIAL_AFTER_OPT_OUT)"
        ),
    ] = None


class OptedOutView(msgspec.Struct, frozen=True, kw_only=True):
    """Which of the numbers asked about opted out of SMS (HUY/STOP), as they were written:
    with `kind`, those an SMS of that kind would skip."""

    opted_out: list[str]


class SessionSmsView(msgspec.Struct, frozen=True, kw_only=True):
    """One SMS about a session as its page shows it: to whom (number masked), where it stands."""

    message_id: str
    kind: SmsKind
    audience: Audience
    recipient_name: str | None
    recipient_phone: Annotated[str, msgspec.Meta(description="masked: +84*****5678")]
    status: Annotated[
        str, msgspec.Meta(description="queued, sending, sent, delivered, failed or suppressed")
    ]
    text: str
    parts: int
    attempts: int
    queued_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None


class PreferencesUpdate(msgspec.Struct, frozen=True, kw_only=True):
    language: SmsLanguage | None = None
    strip_diacritics: bool | None = None


class CoordinatorContactUpdate(msgspec.Struct, frozen=True, kw_only=True):
    phone: str
    language: SmsLanguage = SmsLanguage.VI
    commune_codes: tuple[Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")], ...] = ()


class SignInCodeCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A console sign-in code to text now: to a phone with an active console account."""

    phone: Annotated[str, msgspec.Meta(description="the account's phone, e.g. +84912345678")]
    code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="six digits")]
    language: SmsLanguage = SmsLanguage.VI


class SignInCodeSentView(msgspec.Struct, frozen=True, kw_only=True):
    """What was recorded: the delivery fact, not the code."""

    message_id: str
    provider: str
    sent_at: datetime


def _runtime(request: Request[Any, Any, State]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _channel(request: Request[Any, Any, State]) -> SmsChannel:
    service = request.app.state.service
    assert isinstance(service, Notifications)
    return service.channel


def _phone(value: str, field: str) -> str:
    """A number a coordinator typed, by the one rule (shared.phones); 422 naming `field`."""
    try:
        return normalize_phone(value, field)
    except InvalidPhoneError as error:
        raise InvalidInputError(field, error.message) from None


async def _check_signature(request: Request[Any, Any, State]) -> None:
    """X-Twilio-Signature proves the provider sent every field of the form (403 otherwise)."""
    settings = _channel(request).settings
    body = await request.body()
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    url = str(request.url)
    if settings.public_url is not None:
        query = request.url.query
        url = settings.public_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")
    signature = request.headers.get("x-twilio-signature")
    if not verify_twilio_signature(url, pairs, settings.webhook_token or "", signature):
        raise ForbiddenError("the webhook signature is missing or does not match")


def _webhook_cause(request: Request[Any, Any, State], seed: str) -> Cause:
    """The request's correlation id, and event ids fixed by what the provider sent: a webhook
    delivered twice appends nothing new."""
    return msgspec.structs.replace(cause_of(request, None), id_seed=seed)


@post(
    "/sms/inbound",
    status_code=200,
    media_type=MediaType.XML,
    tags=["webhooks"],
    security=SIGNED,
    summary="An SMS from a resident or volunteer (the provider's signed webhook)",
    description="Answered with empty TwiML; the reply SMS is queued. Once per MessageSid. "
    "XOA (erasure asked by SMS) is answered with a confirmation code sent at once, never "
    "queued; 503 when the provider does not take it (the provider delivers the SMS again).",
    responses={503: ResponseSpec(None, description="The provider did not take the code.")},
)
async def sms_inbound(
    request: Request[Any, Any, State],
    store: NamedDependency[EventStore],
    data: Annotated[InboundSmsForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> str:
    await _check_signature(request)
    sms = parse_inbound_sms(msgspec.structs.asdict(data), _runtime(request).clock)
    sender = inbound_e164(sms.from_phone)
    if sender is None:
        raise InvalidInputError("From", "not a phone number (use +84... or 0...)")
    sms = msgspec.structs.replace(sms, from_phone=sender)
    channel = _channel(request)
    async with store.transaction() as tx:
        await handlers.receive_sms(
            tx,
            sms,
            settings=channel.settings,
            provider=channel.provider,
            cause=_webhook_cause(request, f"inbound:{sms.provider_message_id}"),
        )
    channel.wake()
    return EMPTY_TWIML


@post(
    "/sms/status",
    status_code=200,
    media_type=MediaType.XML,
    tags=["webhooks"],
    security=SIGNED,
    summary="A delivery receipt for an SMS we sent (the provider's signed status callback)",
    description="delivered/read, or undelivered/failed (the coordinator is alerted); repeats "
    "change nothing.",
)
async def sms_status(
    request: Request[Any, Any, State],
    store: NamedDependency[EventStore],
    data: Annotated[StatusCallbackForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> str:
    await _check_signature(request)
    callback = parse_status_callback(msgspec.structs.asdict(data))
    outcome = callback.outcome
    if outcome is None:
        return EMPTY_TWIML
    runtime = _runtime(request)
    seed = f"status:{callback.provider_message_id}:{callback.status}"
    async with store.transaction() as tx:
        await handlers.record_delivery(
            tx,
            callback.provider_message_id,
            outcome=outcome,
            error_code=callback.error_code,
            settings=_channel(request).settings,
            now=runtime.clock.now(),
            cause=_webhook_cause(request, seed),
            message_id=request.query_params.get("message_id"),
        )
    return EMPTY_TWIML


def _scope(caller: Caller) -> tuple[str, ...] | None:
    caller.require(Role.COORDINATOR)
    return None if caller.everywhere else caller.scope


@get(
    "/messages",
    tags=["messages"],
    security=TOKEN,
    summary="SMS sent or waiting, newest first (coordinators: their communes)",
)
async def list_messages(
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    recipient: QueryPhone = None,
    kind: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIST)] = 100,
) -> list[queries.MessageView]:
    scope = _scope(caller)
    phone = None if recipient is None else _phone(recipient, "recipient")
    async with store.reader.connect() as conn:
        return await queries.list_messages(
            conn,
            recipient_phone=phone,
            kind=kind,
            status=status,
            commune_codes=scope,
            limit=limit,
        )


@get(
    "/messages/{message_id:str}",
    tags=["messages"],
    security=TOKEN,
    summary="One SMS and where it stands",
)
async def get_message(
    caller: NamedDependency[Caller], store: NamedDependency[EventStore], message_id: FromPath[str]
) -> queries.MessageView:
    scope = _scope(caller)
    async with store.reader.connect() as conn:
        found = await queries.message(conn, message_id)
    if found is None or (scope is not None and found.commune_code not in scope):
        raise NotFoundError(f"no message {message_id}")
    return found


def _session_sms(found: queries.MessageView) -> SessionSmsView:
    kind = SmsKind(found.kind)
    return SessionSmsView(
        message_id=found.message_id,
        kind=kind,
        audience=audience_of(kind),
        recipient_name=found.recipient_name,
        recipient_phone=mask_phone(found.recipient_phone),
        status=found.status,
        text=found.text,
        parts=found.parts,
        attempts=found.attempts,
        queued_at=found.queued_at,
        sent_at=found.sent_at,
        delivered_at=found.delivered_at,
        failed_at=found.failed_at,
        failure_reason=found.failure_reason,
    )


@get(
    "/sessions/{session_id:str}/messages",
    tags=["messages"],
    security=TOKEN,
    summary="The SMS about one support session: its residents', volunteers' and coordinators'",
    description="In the order they were queued, phones masked, with delivery status. "
    "Coordinators of the session's commune or province; SMS queued before messages recorded "
    "their session are not listed.",
)
async def session_messages(
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    session_id: FromPath[str],
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIST)] = MAX_LIST,
) -> list[SessionSmsView]:
    caller.require(Role.COORDINATOR)
    async with store.reader.connect() as conn:
        found = await queries.session_messages(conn, session_id, limit=limit)
    for code in sorted({m.commune_code for m in found if m.commune_code is not None}):
        caller.require_commune(code, province_of(code))
    return [_session_sms(m) for m in found]


@get(
    "/console/messages",
    tags=["messages"],
    security=TOKEN,
    summary="What the console provider 'sent' (admin; kept in memory, newest last)",
    responses={404: ResponseSpec(None, description="This deployment sends real SMS.")},
)
async def console_messages(
    request: Request[Any, Any, State], caller: NamedDependency[Caller]
) -> list[ConsoleMessage]:
    caller.require(Role.ADMIN)
    console = _channel(request).console
    if console is None:
        raise NotFoundError("this deployment does not use the console SMS provider")
    return console.messages()


def _consent(phone: str, found: queries.Recipient | None) -> ConsentView:
    if found is None:
        return ConsentView(phone=phone, opted_out=False, known=False)
    return ConsentView(
        phone=phone,
        opted_out=found.opted_out,
        known=True,
        language=found.language,
        strip_diacritics=found.strip_diacritics,
        changed_at=found.changed_at,
    )


@get(
    "/recipients/{phone:str}/consent",
    tags=["recipients"],
    security=TOKEN,
    summary="Whether a number opted out of SMS (HUY/STOP) or back in (BATDAU/START)",
)
async def get_consent(
    caller: NamedDependency[Caller], store: NamedDependency[EventStore], phone: PathPhone
) -> ConsentView:
    caller.require(Role.COORDINATOR)
    number = _phone(phone, "phone")
    async with store.reader.connect() as conn:
        return _consent(number, await queries.recipient(conn, number))


@post(
    "/recipients/opted-out",
    tags=["recipients"],
    security=TOKEN,
    status_code=200,
    summary="Which of these numbers opted out of SMS (HUY/STOP): the ones a send would skip",
)
async def opted_out_among(
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    data: JSONBody[OptOutCheck],
) -> OptedOutView:
    """One call for a whole roster (e.g. the people a cancellation would text), each number
    as written; a number that is not a Vietnamese mobile is a 422 naming `phones`."""
    caller.require(Role.COORDINATOR)
    numbers = {written: _phone(written, "phones") for written in data.phones}
    policy = _channel(request).settings.opt_out
    if data.kind is not None and may_send(data.kind, opted_out=True, policy=policy):
        return OptedOutView(opted_out=[])  # this deployment sends that kind to everyone
    async with store.reader.connect() as conn:
        found = await queries.recipients_by_phone(conn, numbers.values())
    return OptedOutView(
        opted_out=[
            written
            for written, number in numbers.items()
            if number in found and found[number].opted_out
        ]
    )


@put(
    "/recipients/{phone:str}/preferences",
    tags=["recipients"],
    security=TOKEN,
    summary="A recipient's language, and whether their SMS go without diacritics (cheaper)",
)
async def put_preferences(
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    phone: PathPhone,
    data: JSONBody[PreferencesUpdate],
) -> ConsentView:
    caller.require(Role.COORDINATOR)
    number = _phone(phone, "phone")
    runtime = _runtime(request)
    async with store.transaction() as tx:
        found = await handlers.change_preferences(
            tx,
            number,
            language=data.language,
            strip_diacritics=data.strip_diacritics,
            now=runtime.clock.now(),
            cause=cause,
        )
    return _consent(number, found)


@put(
    "/coordinators/{coordinator_id:str}/contact",
    tags=["coordinators"],
    security=TOKEN,
    summary="Where a coordinator gets understaffing and delivery-failure alerts by SMS",
)
async def put_coordinator_contact(
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    coordinator_id: FromPath[str],
    data: JSONBody[CoordinatorContactUpdate],
) -> CoordinatorContactUpdate:
    caller.require(Role.COORDINATOR)
    if caller.role is not Role.ADMIN and caller.sub != coordinator_id:
        raise ForbiddenError("coordinators may set only their own contact")
    for code in data.commune_codes:
        caller.require_commune(code)
    phone = _phone(data.phone, "phone")
    event = CoordinatorContactSet(
        coordinator_id=coordinator_id,
        phone=phone,
        language=data.language,
        commune_codes=data.commune_codes,
        set_at=_runtime(request).clock.now(),
    )
    async with store.transaction() as tx:
        await handlers.set_coordinator_contact(tx, event, cause=cause)
    return msgspec.structs.replace(data, phone=phone)


@post(
    "/v1/sign-in-codes",
    tags=["sign-in"],
    security=TOKEN,
    status_code=201,
    summary="Text a console sign-in code now (the console only: admin token, subject console)",
    description="Urgent: quiet hours never hold it. Sent straight to the provider, never "
    "queued or retried; only the fact is recorded (event sms.sign_in_code_sent), the code is "
    "in no event, table or log. 503 when the provider does not take it: ask again.",
    responses={503: ResponseSpec(None, description="The provider did not take the SMS.")},
)
async def post_sign_in_code(
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    data: JSONBody[SignInCodeCreate],
) -> SignInCodeSentView:
    caller.require(Role.ADMIN)
    if caller.sub != CONSOLE_SUBJECT:
        raise ForbiddenError("only the console sends sign-in codes")
    phone = _phone(data.phone, "phone")
    sent = await send_sign_in_code(
        store,
        _channel(request),
        phone,
        data.code,
        data.language,
        now=_runtime(request).clock.now(),
        cause=cause,
    )
    return SignInCodeSentView(
        message_id=sent.message_id, provider=sent.provider, sent_at=sent.sent_at
    )


routes: list[Any] = [
    give_person_keys,
    give_subject_access,
    post_copy_notice,
    post_sign_in_code,
    sms_inbound,
    sms_status,
    list_messages,
    get_message,
    session_messages,
    console_messages,
    get_consent,
    opted_out_among,
    put_preferences,
    put_coordinator_contact,
]
