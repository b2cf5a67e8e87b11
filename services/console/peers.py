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
# The console assembling a person's own copy: only a service may read a person's whole record.
COPY_CALLER = Caller(sub="console", role=Role.SERVICE)


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


def refused(answer: httpx.Response) -> PeerRefusedError:
    """What a 4xx problem-details answer says: its detail, the (field, message) of each wrong
    part, and the fields it names with the problem's type; a body that is no problem says
    only its status."""
    try:
        problem: Any = msgspec.json.decode(answer.content)
    except msgspec.DecodeError:
        problem = None
    status = answer.status_code
    if not isinstance(problem, dict):
        return PeerRefusedError(status, str(status))
    detail = str(problem.get("detail") or problem.get("title") or status)
    wrong = [e for e in problem.get("errors") or () if isinstance(e, dict)]
    errors = tuple((str(e.get("field", "")), str(e.get("message", ""))) for e in wrong)
    field = problem.get("field") if isinstance(problem.get("field"), str) else None
    kind = str(problem.get("type") or "").rsplit("/", 1)[-1]
    named = [str(e["field"]) for e in wrong if "field" in e] or ([field] if field else [])
    return PeerRefusedError(
        status, detail, errors, refusals=[Refusal(field=f, kind=kind) for f in named], field=field
    )


class OptedOut(msgspec.Struct, frozen=True, kw_only=True):
    opted_out: list[str] = msgspec.field(default_factory=list)


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


class DatedException(msgspec.Struct, frozen=True, kw_only=True):
    """A dated exception to the usual week, as the volunteers service states it: away on a
    date (available false) or free on it, for some parts of the day."""

    on: date
    available: bool
    half_days: list[str] = msgspec.field(default_factory=lambda: ["morning", "afternoon"])


class VolunteerProfile(msgspec.Struct, frozen=True, kw_only=True):
    volunteer_id: str
    name: str
    commune_code: str
    availability: dict[str, list[str]]
    paused: bool = False
    exceptions: list[DatedException] = msgspec.field(default_factory=list)
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


_ASSIGNMENTS = msgspec.json.Decoder(list[Assignment])
_PROFILE = msgspec.json.Decoder(VolunteerProfile)
_HOURS = msgspec.json.Decoder(Hours)
_LINK = msgspec.json.Decoder(CalendarLink)
_GROUPS = msgspec.json.Decoder(list[Group])
_MEMBERS = msgspec.json.Decoder(list[VolunteerProfile])
_COMMUNE_HOURS = msgspec.json.Decoder(CommuneHours)
_GROUP = msgspec.json.Decoder(_GroupDetail)
_IMPORTED = msgspec.json.Decoder(_Imported)
_OPTED_OUT = msgspec.json.Decoder(OptedOut)


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
        body = {"phone": phone, "code": code}
        try:
            await self._call(CONSOLE_CALLER, "POST", url, json=body)
        except (PeerError, ForbiddenError, NotFoundError) as error:
            log.warning("sign-in code to %s not sent: %s", mask_phone(phone), error)
            raise PeerError("notifications did not send the code") from None

    async def _call(
        self,
        caller: Caller,
        method: str,
        url: str,
        *,
        json: object = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One call as `caller`. A 403 is the console's ForbiddenError and a 404 its
        NotFoundError (their pages); any other refusal a PeerRefusedError with what the
        problem names; a service out of reach, or failing, a PeerError."""
        sent = self._headers(caller) | (headers or {})
        try:
            answer = await self.client.request(
                method, url, json=json, content=content, headers=sent, params=params
            )
        except httpx.HTTPError as error:
            raise PeerError(f"{url} did not answer: {error!r}") from None
        status = answer.status_code
        if status < 300:
            return answer
        if status == 403:
            raise ForbiddenError(f"{url}: outside the account's scope")
        if status == 404:
            raise NotFoundError(f"{url}: not found")
        if status < 500:
            raise refused(answer)
        raise PeerError(f"{url} answered {status}")

    async def _read(
        self, caller: Caller, url: str, kind: type[Answer], params: dict[str, str] | None = None
    ) -> Answer:
        answer = await self._call(caller, "GET", url, params=params)
        found: Any = msgspec.json.decode(answer.content, type=kind)
        return found  # type: ignore[no-any-return]

    async def sessions(
        self, caller: Caller, commune_code: str, first: date, last: date
    ) -> list[SessionSummary]:
        """The commune's sessions between two local dates, as the caller may see them."""
        params = {"commune": commune_code, "from": first.isoformat(), "to": last.isoformat()}
        url = f"{self._settings.scheduler_url}/sessions"
        return await self._read(caller, url, list[SessionSummary], params)

    async def _volunteers(
        self,
        caller: Caller,
        method: str,
        path: str,
        body: object = None,
        *,
        csv: bytes | None = None,
    ) -> httpx.Response:
        """One call to the volunteers service."""
        url = f"{self._settings.volunteers_url}{path}"
        if csv is None:
            return await self._call(caller, method, url, json=body)
        return await self._call(
            caller, method, url, content=csv, headers={"Content-Type": "text/csv"}
        )

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
        exceptions: list[DatedException] | None = None,
    ) -> None:
        """The usual week, and the full list of dated exceptions when given (None: not sent,
        so the service keeps the ones it has; [] clears them)."""
        body: dict[str, object] = {"availability": availability}
        if exceptions is not None:
            body["exceptions"] = msgspec.to_builtins(exceptions)
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
    ) -> bytes:
        """One call as `caller` (`_call`), with the request's idempotency key; the answer's body."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        answer = await self._call(caller, method, url, json=body, headers=headers)
        return answer.content

    def scheduler(self, path: str) -> str:
        return f"{self._settings.scheduler_url}{path}"

    async def change(self, caller: Caller, url: str, body: dict[str, object]) -> None:
        """POST a change to a peer (`_call`)."""
        await self._call(caller, "POST", url, json=body)

    async def change_session(
        self, caller: Caller, session_id: str, action: str, body: dict[str, object]
    ) -> None:
        url = f"{self._settings.scheduler_url}/sessions/{session_id}/{action}"
        await self.change(caller, url, body)

    async def session_messages(self, caller: Caller, session_id: str) -> list[SessionSms]:
        url = f"{self._settings.notifications_url}/sessions/{session_id}/messages"
        return await self._read(caller, url, list[SessionSms])

    async def opted_out(self, caller: Caller, phones: list[str], kind: str) -> set[str]:
        """Which of these numbers an SMS of `kind` (notifications' SmsKind) would skip because
        they opted out, in one call (the numbers go in the body, never in a URL)."""
        if not phones:
            return set()
        url = f"{self._settings.notifications_url}/recipients/opted-out"
        body = {"phones": sorted(set(phones)), "kind": kind}
        answer = await self._call(caller, "POST", url, json=body)
        return set(_OPTED_OUT.decode(answer.content).opted_out)

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

    async def subject_access(self, service: str, body: dict[str, object]) -> dict[str, Any] | None:
        """What `service` holds about one person (its `POST /v1/subject-access` section), or
        None when it did not answer: the copy then says that section is missing. Nothing of
        the person is logged."""
        base = {
            "scheduler": self._settings.scheduler_url,
            "volunteers": self._settings.volunteers_url,
            "notifications": self._settings.notifications_url,
        }[service]
        try:
            answer = await self._call(COPY_CALLER, "POST", f"{base}/v1/subject-access", json=body)
            found: Any = msgspec.json.decode(answer.content)
        except (PeerError, ForbiddenError, NotFoundError, msgspec.DecodeError) as error:
            log.warning("subject access: %s gave no section (%s)", service, type(error).__name__)
            return None
        return found if isinstance(found, dict) else None

    async def tell_copy_given(self, phone: str, copy_id: str, given_at: datetime) -> bool:
        """Ask notifications to text the resident that their copy was handed out; False (and
        logged, without the number) when it could not be asked."""
        url = f"{self._settings.notifications_url}/v1/copy-notices"
        body = {"copy_id": copy_id, "phone": phone, "given_at": given_at.isoformat()}
        try:
            await self._call(COPY_CALLER, "POST", url, json=body)
        except (PeerError, ForbiddenError, NotFoundError) as error:
            log.warning("copy %s: the resident was not told (%s)", copy_id, type(error).__name__)
            return False
        return True

    async def close(self) -> None:
        await self.client.aclose()
