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

    async def close(self) -> None:
        await self.client.aclose()
