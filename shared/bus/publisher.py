"""Publishing to JetStream with many acknowledgements in flight: each message names a reply
subject of ours, and the server's acknowledgement (stream, sequence, duplicate) or error
arrives there. Every event of every service goes through it (the relay), so its cost per
message matters: nats-py's `publish_async` does the same with more work each time (a
semaphore under `wait_for`, a random token, a done callback, a dataclass per answer)."""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg


class PublishRejectedError(RuntimeError):
    """JetStream did not store a message (no stream for its subject, or an error answer)."""


class _ApiError(msgspec.Struct, frozen=True):
    code: int = 0
    err_code: int = 0
    description: str = ""


class PubAck(msgspec.Struct, frozen=True):
    """JetStream's answer to a publish: where the message is stored, or why it is not."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_decode_ack = msgspec.json.Decoder(PubAck).decode
_NO_RESPONDERS = "503"


class Publisher:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._prefix = ""
        self._next = 0
        self._awaited: dict[int, asyncio.Future[PubAck]] = {}

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        """Send a message; the future holds JetStream's acknowledgement, or raises
        PublishRejectedError."""
        if not self._prefix:
            inbox = self.nc.new_inbox()
            self._prefix = f"{inbox}."
            await self.nc.subscribe(f"{inbox}.*", cb=self._answered)
        self._next += 1
        answer: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._awaited[self._next] = answer
        await self.nc.publish(subject, data, reply=f"{self._prefix}{self._next}", headers=headers)
        return answer

    def abandon(self) -> None:
        """Stop waiting for the answers not yet in (after a timeout or a lost connection)."""
        for answer in self._awaited.values():
            answer.cancel()
        self._awaited.clear()

    async def _answered(self, msg: Msg) -> None:
        token = msg.subject[len(self._prefix) :]
        answer = self._awaited.pop(int(token), None) if token.isdigit() else None
        if answer is None or answer.done():
            return
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            answer.set_exception(PublishRejectedError("no JetStream stream for the subject"))
            return
        try:
            ack = _decode_ack(msg.data)
        except msgspec.DecodeError as error:
            answer.set_exception(PublishRejectedError(f"unreadable acknowledgement: {error}"))
            return
        if ack.error is not None:
            answer.set_exception(
                PublishRejectedError(f"{ack.error.description} ({ack.error.err_code})")
            )
            return
        answer.set_result(ack)
