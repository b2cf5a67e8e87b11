"""Twilio's Messages resource, played over real HTTP by `bench.gateway.Gateway`: each POST
creates a message and keeps it (as Twilio does, even when its answer never reaches the
caller), and GET lists what was created the way Twilio lists it (filtered by To and From,
newest first, `PageSize` a page, `next_page_uri` to the next). A test can hold the answers
back, as a provider that took the SMS and hangs."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

import msgspec

from bench.gateway import Request, Response

DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class CreatedMessage:
    """One SMS the provider took: what it was asked to send, and when it took it."""

    sid: str
    to: str
    sender: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    created_at: float  # seconds since the epoch

    def resource(self, account_sid: str) -> dict[str, object]:
        # RFC 2822 in UTC, as Twilio writes it: "Thu, 04 Dec 2025 03:00:00 +0000".
        date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(self.created_at))
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "sid": self.sid,
            "to": self.to,
            "from": self.sender,
            "messaging_service_sid": self.messaging_service_sid,
            "body": self.body,
            "status": "queued",
            "direction": "outbound-api",
            "date_created": date,
            "date_updated": date,
            "date_sent": None,
            "num_segments": "1",
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


class MessagesApi:
    """`answer` is a `Gateway.handler`; `created` is every message taken, in order."""

    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.created: list[CreatedMessage] = []
        self._sids = itertools.count(1)
        self._answering = asyncio.Event()
        self._answering.set()

    def hold(self) -> None:
        """Take each new message but keep its answer back until `release`."""
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    async def answer(self, request: Request) -> Response:
        path, _, query = request.path.partition("?")
        if not path.endswith(f"/Accounts/{self.account_sid}/Messages.json"):
            return Response(404, b'{"code": 20404, "message": "not found"}')
        if request.method == "POST":
            return await self._create(request)
        if request.method == "GET":
            return self._list(path, parse_qs(query))
        return Response(405, b'{"message": "method not allowed"}')

    async def _create(self, request: Request) -> Response:
        form = request.form()
        message = CreatedMessage(
            sid=f"SM{next(self._sids):032x}",
            to=form.get("To", ""),
            sender=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback"),
            created_at=time.time(),
        )
        self.created.append(message)
        await self._answering.wait()
        return Response(201, msgspec.json.encode(message.resource(self.account_sid)))

    def _list(self, path: str, query: dict[str, list[str]]) -> Response:
        def first(name: str) -> str | None:
            return query[name][0] if name in query else None

        to, sender = first("To"), first("From")
        size = min(int(first("PageSize") or DEFAULT_PAGE_SIZE), 1000)
        offset = int((first("PageToken") or "PA0")[2:])
        page = int(first("Page") or "0")
        matching = [
            message
            for message in reversed(self.created)  # newest first
            if (to is None or message.to == to) and (sender is None or message.sender == sender)
        ]
        shown = matching[offset : offset + size]
        filters = {k: v for k, v in (("To", to), ("From", sender)) if v is not None}
        next_page = None
        if offset + size < len(matching):
            following = filters | {
                "PageSize": str(size),
                "Page": str(page + 1),
                "PageToken": f"PA{offset + size}",
            }
            next_page = f"{path}?{urlencode(following)}"
        body = {
            "messages": [message.resource(self.account_sid) for message in shown],
            "page": page,
            "page_size": size,
            "start": offset,
            "end": offset + max(len(shown) - 1, 0),
            "uri": f"{path}?{urlencode(filters | {'PageSize': str(size)})}",
            "first_page_uri": f"{path}?{urlencode(filters | {'PageSize': str(size), 'Page': '0'})}",
            "next_page_uri": next_page,
            "previous_page_uri": None,
        }
        return Response(200, msgspec.json.encode(body))
