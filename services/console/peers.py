"""The other services as the console reaches them: only through their public HTTP APIs, with a
short-lived bearer token minted for the signed-in account's role and scope."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import msgspec

from services.console.settings import ConsoleSettings
from shared.clock import Clock
from shared.phones import mask_phone
from shared.tokenkeys import TokenKeys
from shared.web.auth import Caller, Role, mint_token

log = logging.getLogger("handinhand.console")

TOKEN_LIFE = timedelta(minutes=2)
# The console itself, when it asks notifications to send a sign-in code (nobody is signed in).
CONSOLE_CALLER = Caller(sub="console", role=Role.ADMIN)


class PeerError(Exception):
    """Another service did not answer, or answered with an error; the page says try again."""


class PeerRefusedError(PeerError):
    """Another service refused the request (a 4xx problem details): its status and detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"answered {status}: {detail}")
        self.status = status
        self.detail = detail


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
        self, caller: Caller, method: str, path: str, body: object = None
    ) -> httpx.Response:
        """One call to the volunteers service; PeerRefusedError when it refused, with its detail."""
        try:
            answer = await self.client.request(
                method,
                f"{self._settings.volunteers_url}{path}",
                json=body,
                headers=self._headers(caller),
            )
        except httpx.HTTPError as error:
            raise PeerError(f"volunteers did not answer: {error!r}") from None
        if 400 <= answer.status_code < 500:
            raise PeerRefusedError(answer.status_code, _detail(answer))
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
        self, caller: Caller, volunteer_id: str, availability: dict[str, list[str]]
    ) -> None:
        body = {"availability": availability}
        await self._volunteers(caller, "PUT", f"/volunteers/{volunteer_id}/availability", body)

    async def issue_calendar_link(self, caller: Caller, volunteer_id: str) -> str:
        path = f"/volunteers/{volunteer_id}/calendar-link"
        return _LINK.decode((await self._volunteers(caller, "POST", path)).content).url

    async def revoke_calendar_link(self, caller: Caller, volunteer_id: str) -> None:
        await self._volunteers(caller, "DELETE", f"/volunteers/{volunteer_id}/calendar-link")

    async def close(self) -> None:
        await self.client.aclose()


def _detail(answer: httpx.Response) -> str:
    """The problem details' own words, or the status when the body is not one."""
    try:
        problem: Any = msgspec.json.decode(answer.content)
    except msgspec.DecodeError:
        return str(answer.status_code)
    detail = problem.get("detail") if isinstance(problem, dict) else None
    return str(detail or problem.get("title") or answer.status_code)
