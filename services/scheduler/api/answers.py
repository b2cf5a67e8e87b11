"""How routes answer: once per Idempotency-Key, or a 422 listing every broken rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.di import NamedDependency

from shared.store.eventstore import EventStore, Transaction
from shared.web.idempotency import StoredAnswer, answer_once
from shared.web.problems import InvalidInputError

S = TypeVar("S", bound=msgspec.Struct)
_ENCODER = msgspec.json.Encoder()


async def once(
    store: NamedDependency[EventStore],
    key: str | None,
    scope: str,
    request: Request[Any, Any, Any],
    view: type[S],
    work: Callable[[Transaction], Awaitable[S]],
) -> Response[S]:
    """Run `work` once per Idempotency-Key; a retry gets the first answer, byte for byte."""

    async def run(tx: Transaction) -> StoredAnswer:
        return StoredAnswer(201, _ENCODER.encode(await work(tx)))

    answer = await answer_once(store, key, scope, await request.body(), run)
    return Response(msgspec.json.decode(answer.body, type=view), status_code=answer.status_code)


def rejected(problems: list[tuple[str, str]]) -> InvalidInputError:
    """Several rules broken at once, as a 422 problem listing each (shared/web/problems.py)."""
    return InvalidInputError.of(problems)
