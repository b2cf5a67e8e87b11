"""The other services as the console reaches them: only through their public HTTP APIs, with a
short-lived bearer token minted for the signed-in account's role and scope."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import httpx
import msgspec

from services.console.settings import ConsoleSettings
from shared.clock import Clock
from shared.phones import mask_phone
from shared.tokenkeys import TokenKeys
from shared.web.auth import Caller, ForbiddenError, Role, mint_token
from shared.web.problems import NotFoundError

log = logging.getLogger("handinhand.console")

TOKEN_LIFE = timedelta(minutes=2)
# The console itself, when it asks notifications to send a sign-in code (nobody is signed in).
CONSOLE_CALLER = Caller(sub="console", role=Role.ADMIN)


class PeerError(Exception):
    """Another service did not answer, or answered with an error; the page says try again."""


class PeerRefusedError(Exception):
    """A peer refused a change as bad input (400, 409, 422): the field its problem names."""

    def __init__(self, field: str | None, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


class _Problem(msgspec.Struct, frozen=True):
    detail: str = ""
    field: str | None = None


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    opted_out: bool = False


class Venue(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    address: str = ""


class SessionSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A session as the scheduler's GET /sessions gives it: what "This weekend" shows."""

    session_id: str
    status: str
    commune_code: str
    venue: Venue
    local_date: date
    start_local: str
    end_local: str
    topics: list[str] = msgspec.field(default_factory=list)
    capacity: int = 0
    booked: int = 0
    volunteers_needed: int = 0
    staffing: str = "unknown"
    missing_volunteers: int = 0


_SESSIONS = msgspec.json.Decoder(list[SessionSummary])


class SessionDetail(SessionSummary, frozen=True, kw_only=True):
    """One session as the scheduler's GET /sessions/{id} gives it: what "A session" shows."""

    languages: list[str] = msgspec.field(default_factory=list)
    accessibility: list[str] = msgspec.field(default_factory=list)
    free_places: int = 0
    volunteer_ids: list[str] = msgspec.field(default_factory=list)
    cancel_reason: str | None = None


class RosterResident(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: str
    name: str
    phone: str
    preferred_language: str = "vi"
    topics: list[str] = msgspec.field(default_factory=list)
    accessibility_needs: list[str] = msgspec.field(default_factory=list)
    from_waitlist: bool = False
    attendance: str | None = None
    outcomes: list[str] = msgspec.field(default_factory=list)


class Roster(msgspec.Struct, frozen=True, kw_only=True):
    residents: list[RosterResident] = msgspec.field(default_factory=list)


class WaitingResident(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    name: str
    commune_code: str
    waiting_since: datetime
    topics: list[str] = msgspec.field(default_factory=list)
    accessibility_needs: list[str] = msgspec.field(default_factory=list)


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer's place in a slot, as the volunteers service's GET /slots/{id} gives it."""

    volunteer_id: str
    status: str
    role: str = ""
    explanation: str = ""
    release_reason: str | None = None


class Volunteer(msgspec.Struct, frozen=True, kw_only=True):
    volunteer_id: str
    name: str


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    assignments: list[Assignment] = msgspec.field(default_factory=list)


class SessionSms(msgspec.Struct, frozen=True, kw_only=True):
    """One SMS about a session as notifications' GET /sessions/{id}/messages gives it: the
    phone already masked there."""

    message_id: str
    kind: str
    audience: str
    recipient_phone: str
    status: str
    text: str
    queued_at: datetime
    recipient_name: str | None = None
    parts: int = 1
    attempts: int = 0
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None


Answer = TypeVar("Answer")


class Peers:
    """One HTTP client for the app's life, and the URLs of the services it calls."""

    def __init__(self, settings: ConsoleSettings, token_keys: TokenKeys, clock: Clock) -> None:
        self._settings = settings
        self._keys = token_keys
        self._clock = clock
        self.client = httpx.AsyncClient(timeout=settings.call_timeout)

    def _headers(self, caller: Caller) -> dict[str, str]:
        token = mint_token(self._keys, caller, self._clock.now(), TOKEN_LIFE)
        return {"Authorization": f"Bearer {token}"}

    async def send_sign_in_code(self, phone: str, code: str) -> None:
        """Ask notifications to text the code now; PeerError when it could not."""
        url = f"{self._settings.notifications_url}/v1/sign-in-codes"
        try:
            answer = await self.client.post(
                url, json={"phone": phone, "code": code}, headers=self._headers(CONSOLE_CALLER)
            )
        except httpx.HTTPError as error:
            log.warning("sign-in code to %s not sent: %r", mask_phone(phone), error)
            raise PeerError("notifications did not answer") from None
        if answer.status_code != 201:
            log.warning(
                "sign-in code to %s not sent: notifications answered %s",
                mask_phone(phone),
                answer.status_code,
            )
            raise PeerError(f"notifications answered {answer.status_code}")

    async def sessions(
        self, caller: Caller, commune_code: str, first: date, last: date
    ) -> list[SessionSummary]:
        """The commune's sessions between two local dates, as the caller may see them."""
        try:
            answer = await self.client.get(
                f"{self._settings.scheduler_url}/sessions",
                params={"commune": commune_code, "from": first.isoformat(), "to": last.isoformat()},
                headers=self._headers(caller),
            )
        except httpx.HTTPError as error:
            raise PeerError(f"scheduler did not answer: {error!r}") from None
        if answer.status_code != 200:
            raise PeerError(f"scheduler answered {answer.status_code}")
        return _SESSIONS.decode(answer.content)

    async def _read(self, caller: Caller, url: str, kind: type[Answer]) -> Answer:
        """GET a peer's resource; its 403 and 404 are the console's, anything else a PeerError."""
        try:
            answer = await self.client.get(url, headers=self._headers(caller))
        except httpx.HTTPError as error:
            raise PeerError(f"{url} did not answer: {error!r}") from None
        if answer.status_code == 403:
            raise ForbiddenError(f"{url}: outside the account's scope")
        if answer.status_code == 404:
            raise NotFoundError(f"{url}: not found")
        if answer.status_code != 200:
            raise PeerError(f"{url} answered {answer.status_code}")
        found: Any = msgspec.json.decode(answer.content, type=kind)
        return found  # type: ignore[no-any-return]

    async def change(self, caller: Caller, url: str, body: dict[str, object]) -> None:
        """POST a change to a peer; bad input is a PeerRefusedError naming the field."""
        try:
            answer = await self.client.post(url, json=body, headers=self._headers(caller))
        except httpx.HTTPError as error:
            raise PeerError(f"{url} did not answer: {error!r}") from None
        if answer.status_code in (400, 409, 422):
            try:
                problem = msgspec.json.decode(answer.content, type=_Problem)
            except msgspec.DecodeError:
                problem = _Problem()
            raise PeerRefusedError(problem.field, problem.detail)
        if answer.status_code == 403:
            raise ForbiddenError(f"{url}: outside the account's scope")
        if answer.status_code == 404:
            raise NotFoundError(f"{url}: not found")
        if answer.status_code not in (200, 201):
            raise PeerError(f"{url} answered {answer.status_code}")

    async def change_session(
        self, caller: Caller, session_id: str, action: str, body: dict[str, object]
    ) -> None:
        url = f"{self._settings.scheduler_url}/sessions/{session_id}/{action}"
        await self.change(caller, url, body)

    async def session_messages(self, caller: Caller, session_id: str) -> list[SessionSms]:
        url = f"{self._settings.notifications_url}/sessions/{session_id}/messages"
        return await self._read(caller, url, list[SessionSms])

    async def opted_out(self, caller: Caller, phone: str) -> bool:
        url = f"{self._settings.notifications_url}/recipients/{phone}/consent"
        return (await self._read(caller, url, Consent)).opted_out

    async def session(self, caller: Caller, session_id: str) -> SessionDetail:
        url = f"{self._settings.scheduler_url}/sessions/{session_id}"
        return await self._read(caller, url, SessionDetail)

    async def roster(self, caller: Caller, session_id: str) -> Roster:
        url = f"{self._settings.scheduler_url}/sessions/{session_id}/roster"
        return await self._read(caller, url, Roster)

    async def waitlist(self, caller: Caller, session_id: str) -> list[WaitingResident]:
        url = f"{self._settings.scheduler_url}/sessions/{session_id}/waitlist"
        return await self._read(caller, url, list[WaitingResident])

    async def slot(self, caller: Caller, slot_id: str) -> Slot:
        """A session is a slot of the volunteers service under the same id."""
        url = f"{self._settings.volunteers_url}/slots/{slot_id}"
        return await self._read(caller, url, Slot)

    async def volunteer(self, caller: Caller, volunteer_id: str) -> Volunteer:
        url = f"{self._settings.volunteers_url}/volunteers/{volunteer_id}"
        return await self._read(caller, url, Volunteer)

    async def close(self) -> None:
        await self.client.aclose()
