"""The owner of some people reached over its HTTP API, for their data keys
(`POST /v1/person-keys`, shared/web/person_keys.py), with a short-lived service token."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import httpx
import msgspec

from shared.clock import Clock
from shared.keepalive import KeepAliveTransport, post
from shared.personal.datakey import DataKey
from shared.personal.guard import OwnerUnreachableError
from shared.tokenkeys import TokenKeys
from shared.web.auth import Caller, Role, mint_token

TOKEN_LIFE = timedelta(minutes=1)
ASKED_AT_ONCE = 1000
TIMEOUT_S = 5.0
CONNECTIONS = 4  # a consumer asks once per batch; a few consumers of a service at once
_ASKING = msgspec.json.Encoder()


class _Given(msgspec.Struct, frozen=True):
    keys: dict[str, str | None]


class HttpKeyOwner:
    """Asks `url` (the owning service) for keys, as the service `me`."""

    def __init__(self, url: str, me: str, token_keys: TokenKeys, clock: Clock) -> None:
        self.url = url.rstrip("/")
        self.caller = Caller(sub=f"service:{me}", role=Role.SERVICE)
        self.token_keys = token_keys
        self.clock = clock
        self._client: tuple[httpx.AsyncClient, KeepAliveTransport] | None = None
        self._asked = httpx.URL(f"{self.url}/v1/person-keys")
        self._minted: tuple[datetime, str] | None = None

    async def keys(self, person_ids: Sequence[str]) -> Mapping[str, DataKey | None]:
        client, wire = self._client or self._connect()
        headers = {"authorization": f"Bearer {self._token()}", "content-type": "application/json"}
        found: dict[str, DataKey | None] = {}
        for start in range(0, len(person_ids), ASKED_AT_ONCE):
            asked = list(person_ids[start : start + ASKED_AT_ONCE])
            try:
                answer = await post(
                    client, wire, self._asked, headers, _ASKING.encode({"person_ids": asked})
                )
            except httpx.HTTPError as error:
                raise OwnerUnreachableError(f"{self.url}: {type(error).__name__}") from error
            if answer.status_code != 200:
                raise OwnerUnreachableError(f"{self.url} answered {answer.status_code}")
            given = msgspec.json.decode(answer.content, type=_Given).keys
            for person_id in asked:
                material = given.get(person_id)
                found[person_id] = None if material is None else DataKey(base64.b64decode(material))
        return found

    def _token(self) -> str:
        """A service token, minted again when half its life is gone."""
        now = self.clock.now()
        if self._minted is None or now - self._minted[0] > TOKEN_LIFE / 2:
            self._minted = (now, mint_token(self.token_keys, self.caller, now, TOKEN_LIFE))
        return self._minted[1]

    def _connect(self) -> tuple[httpx.AsyncClient, KeepAliveTransport]:
        # httpx's own transport costs ~250 µs of CPU a request, a batch's wait for its keys
        wire = KeepAliveTransport(CONNECTIONS)
        self._client = (httpx.AsyncClient(timeout=TIMEOUT_S, transport=wire), wire)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client[0].aclose()
            self._client = None
