"""The other services as the console reaches them: only through their public HTTP APIs, with a
short-lived bearer token minted for the signed-in account's role and scope."""

from __future__ import annotations

import logging
from datetime import date, timedelta

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


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """One wrong field of a refused request: its name on the wire and the problem's type."""

    field: str
    kind: str


class PeerRefusedError(PeerError):
    """The service understood the request and refused it (RFC 9457 problem details): the
    fields it named, so the page can mark each one."""

    def __init__(self, status: int, refusals: list[Refusal]) -> None:
        super().__init__(f"refused with {status}: {[r.field for r in refusals]}")
        self.status = status
        self.refusals = refusals


class _Problem(msgspec.Struct, frozen=True):
    type: str = ""
    field: str | None = None
    errors: list[dict[str, str]] = msgspec.field(default_factory=list)


def refusals_of(status: int, content: bytes) -> PeerRefusedError:
    """The fields a problem-details answer names; an answer that is no problem names none."""
    try:
        found = msgspec.json.decode(content, type=_Problem)
    except msgspec.DecodeError:
        return PeerRefusedError(status, [])
    kind = found.type.rsplit("/", 1)[-1]
    fields = [e["field"] for e in found.errors if "field" in e] or (
        [found.field] if found.field else []
    )
    return PeerRefusedError(status, [Refusal(field=f, kind=kind) for f in fields])


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

    async def close(self) -> None:
        await self.client.aclose()
