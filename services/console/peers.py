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


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """One wrong field of a refused request: its name on the wire and the problem's type."""

    field: str
    kind: str


class PeerRefusedError(PeerError):
    """The service understood the request and refused it (RFC 9457 problem details): its
    status and detail, the (field, message) of each wrong part (e.g. ("line 3", "phone is
    not a phone number")), and the fields it named with the problem's type, so the page can
    mark each one in its own words."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        errors: tuple[tuple[str, str], ...] = (),
        *,
        refusals: list[Refusal] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(f"answered {status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors
        self.refusals = refusals or []
        # the one field the problem names, when it names one (`Peers.change`)
        self.field = field


class _Problem(msgspec.Struct, frozen=True):
    type: str = ""
    detail: str = ""
    field: str | None = None
    errors: list[dict[str, str]] = msgspec.field(default_factory=list)


def refusals_of(status: int, content: bytes) -> PeerRefusedError:
    """The fields a problem-details answer names; an answer that is no problem names none."""
    try:
        found = msgspec.json.decode(content, type=_Problem)
    except msgspec.DecodeError:
        return PeerRefusedError(status)
    kind = found.type.rsplit("/", 1)[-1]
    fields = [e["field"] for e in found.errors if "field" in e] or (
        [found.field] if found.field else []
    )
    return PeerRefusedError(status, refusals=[Refusal(field=f, kind=kind) for f in fields])


class _NamedField(msgspec.Struct, frozen=True):
    """Only what `Peers.change` reads of a problem: the detail and the one field it names."""

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


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer's assignment as the volunteers service's API gives it."""

    assignment_id: str
    commune_code: str
    starts_at: datetime
    ends_at: datetime
    status: str
    answer_by: datetime
    role: str = ""
    explanation: str = ""


class VolunteerProfile(msgspec.Struct, frozen=True, kw_only=True):
    volunteer_id: str
    name: str
    commune_code: str
    availability: dict[str, list[str]]
    paused: bool = False
    # Dated exceptions to the week, kept as the service gave them: the console sends them back.
    exceptions: list[dict[str, Any]] = msgspec.field(default_factory=list)
    group_id: str = ""
    phone: str = ""
    village: str = ""


class Group(msgspec.Struct, frozen=True, kw_only=True):
    group_id: str
    name: str
    commune_code: str
    members: int = 0
    active_members: int = 0


class CommuneHours(msgspec.Struct, frozen=True, kw_only=True):
    total_minutes: int
    total_hours: float
    by_volunteer: dict[str, int]
    by_group: dict[str, int]


class _GroupDetail(msgspec.Struct, frozen=True, kw_only=True):
    group: Group


class _Imported(msgspec.Struct, frozen=True, kw_only=True):
    imported: int


class Hours(msgspec.Struct, frozen=True, kw_only=True):
    assignments: int
    total_minutes: int
    total_hours: float


class CalendarLink(msgspec.Struct, frozen=True, kw_only=True):
    url: str


_SESSIONS = msgspec.json.Decoder(list[SessionSummary])
_ASSIGNMENTS = msgspec.json.Decoder(list[Assignment])
_PROFILE = msgspec.json.Decoder(VolunteerProfile)
_HOURS = msgspec.json.Decoder(Hours)
_LINK = msgspec.json.Decoder(CalendarLink)
_GROUPS = msgspec.json.Decoder(list[Group])
_MEMBERS = msgspec.json.Decoder(list[VolunteerProfile])
_COMMUNE_HOURS = msgspec.json.Decoder(CommuneHours)
_GROUP = msgspec.json.Decoder(_GroupDetail)
_IMPORTED = msgspec.json.Decoder(_Imported)


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


class SlotAssignment(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer's place in a slot, as the volunteers service's GET /slots/{id} gives it."""

    volunteer_id: str
    status: str
    role: str = ""
    explanation: str = ""
    release_reason: str | None = None


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    assignments: list[SlotAssignment] = msgspec.field(default_factory=list)


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

    async def _volunteers(
        self,
        caller: Caller,
        method: str,
        path: str,
        body: object = None,
        *,
        csv: bytes | None = None,
    ) -> httpx.Response:
        """One call to the volunteers service; PeerRefusedError when it refused, with why."""
        headers = self._headers(caller)
        if csv is not None:
            headers["Content-Type"] = "text/csv"
        try:
            answer = await self.client.request(
                method,
                f"{self._settings.volunteers_url}{path}",
                json=body,
                content=csv,
                headers=headers,
            )
        except httpx.HTTPError as error:
            raise PeerError(f"volunteers did not answer: {error!r}") from None
        if 400 <= answer.status_code < 500:
            raise PeerRefusedError(answer.status_code, *_problem(answer))
        if answer.status_code >= 300:
            raise PeerError(f"volunteers answered {answer.status_code}")
        return answer

    async def volunteer(self, caller: Caller, volunteer_id: str) -> VolunteerProfile:
        answer = await self._volunteers(caller, "GET", f"/volunteers/{volunteer_id}")
        return _PROFILE.decode(answer.content)

    async def assignments(self, caller: Caller, volunteer_id: str) -> list[Assignment]:
        answer = await self._volunteers(caller, "GET", f"/volunteers/{volunteer_id}/assignments")
        return _ASSIGNMENTS.decode(answer.content)

    async def hours(self, caller: Caller, volunteer_id: str) -> Hours:
        answer = await self._volunteers(caller, "GET", f"/volunteers/{volunteer_id}/hours")
        return _HOURS.decode(answer.content)

    async def answer_assignment(self, caller: Caller, assignment_id: str, *, accept: bool) -> None:
        verb = "accept" if accept else "decline"
        await self._volunteers(caller, "POST", f"/assignments/{assignment_id}/{verb}")

    async def change_availability(
        self,
        caller: Caller,
        volunteer_id: str,
        availability: dict[str, list[str]],
        exceptions: list[dict[str, Any]],
    ) -> None:
        """The usual week; the dated exceptions are sent as they were, since the service
        replaces them with what the body holds."""
        body = {"availability": availability, "exceptions": exceptions}
        await self._volunteers(caller, "PUT", f"/volunteers/{volunteer_id}/availability", body)

    async def issue_calendar_link(self, caller: Caller, volunteer_id: str) -> str:
        path = f"/volunteers/{volunteer_id}/calendar-link"
        return _LINK.decode((await self._volunteers(caller, "POST", path)).content).url

    async def revoke_calendar_link(self, caller: Caller, volunteer_id: str) -> None:
        await self._volunteers(caller, "DELETE", f"/volunteers/{volunteer_id}/calendar-link")

    async def groups(self, caller: Caller, commune_code: str) -> list[Group]:
        answer = await self._volunteers(caller, "GET", f"/communes/{commune_code}/groups")
        return _GROUPS.decode(answer.content)

    async def group(self, caller: Caller, group_id: str) -> Group:
        answer = await self._volunteers(caller, "GET", f"/groups/{group_id}")
        return _GROUP.decode(answer.content).group

    async def members(self, caller: Caller, commune_code: str) -> list[VolunteerProfile]:
        answer = await self._volunteers(caller, "GET", f"/communes/{commune_code}/volunteers")
        return _MEMBERS.decode(answer.content)

    async def commune_hours(self, caller: Caller, commune_code: str) -> CommuneHours:
        answer = await self._volunteers(caller, "GET", f"/communes/{commune_code}/hours")
        return _COMMUNE_HOURS.decode(answer.content)

    async def pause(self, caller: Caller, volunteer_id: str, *, paused: bool) -> None:
        verb = "pause" if paused else "resume"
        await self._volunteers(caller, "POST", f"/volunteers/{volunteer_id}/{verb}")

    async def import_roster(self, caller: Caller, group_id: str, roster: bytes) -> int:
        """How many volunteers were registered; PeerRefusedError (422, one error a wrong line)
        when any row is wrong and nobody was."""
        path = f"/groups/{group_id}/roster"
        answer = await self._volunteers(caller, "POST", path, csv=roster)
        return _IMPORTED.decode(answer.content).imported

    async def send(
        self,
        caller: Caller,
        method: str,
        url: str,
        *,
        body: object = None,
        idempotency_key: str | None = None,
        expected: tuple[int, ...] = (200, 201),
    ) -> bytes:
        """One call as `caller`; the answer's body. PeerRefusedError for a 4xx answer with
        the fields it names, PeerError when the service is out of reach or failed."""
        headers = self._headers(caller)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            answer = await self.client.request(
                method,
                url,
                content=None if body is None else msgspec.json.encode(body),
                headers=headers | ({"Content-Type": "application/json"} if body else {}),
            )
        except httpx.HTTPError as error:
            raise PeerError(f"{url} did not answer: {error!r}") from None
        if answer.status_code in expected:
            return answer.content
        if 400 <= answer.status_code < 500:
            raise refusals_of(answer.status_code, answer.content)
        raise PeerError(f"{url} answered {answer.status_code}")

    def scheduler(self, path: str) -> str:
        return f"{self._settings.scheduler_url}{path}"

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
                problem = msgspec.json.decode(answer.content, type=_NamedField)
            except msgspec.DecodeError:
                problem = _NamedField()
            raise PeerRefusedError(answer.status_code, problem.detail, field=problem.field)
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

    async def close(self) -> None:
        await self.client.aclose()


def _problem(answer: httpx.Response) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The problem details' own words and wrong parts, or the status when the body is not one."""
    try:
        problem: Any = msgspec.json.decode(answer.content)
    except msgspec.DecodeError:
        problem = None
    if not isinstance(problem, dict):
        return str(answer.status_code), ()
    detail = str(problem.get("detail") or problem.get("title") or answer.status_code)
    errors = tuple(
        (str(e.get("field", "")), str(e.get("message", "")))
        for e in problem.get("errors") or ()
        if isinstance(e, dict)
    )
    return detail, errors
