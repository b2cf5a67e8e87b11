"""The console's read models are a fold of its log: rebuilt from the events, they equal the
live ones (accounts added, paused, rescoped; sessions started and ended; API tokens issued and
revoked)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from services.console import handlers
from services.console.domain.accounts import ChangeScope, PauseAccount
from services.console.domain.tokens import IssueApiToken, RevokeApiToken
from services.console.parts import PARTS
from services.console.tables import READ_MODELS
from shared.events.base import Cause
from shared.events.console import AccountRole, SessionEnding
from shared.ids import uuid7
from shared.settings import Settings
from shared.store.eventstore import EventStore
from shared.store.rebuild import rebuild_read_models
from tests.api.console.world import T0, console_world


async def snapshot(store: EventStore) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with store.reader.connect() as conn:
        for table in READ_MODELS:
            rows = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found


async def test_rebuilt_read_models_equal_the_live_ones(settings: Settings) -> None:
    cause = Cause(correlation_id=uuid7())
    async with console_world(settings) as world:
        store = world.runtime.store
        admin = await world.add_account("+84912000001", AccountRole.ADMIN)
        coordinator = await world.add_account(
            "+84912000002", AccountRole.COORDINATOR, ("15835",), name="Trần Thị Bình"
        )
        async with store.transaction() as tx:
            ended = await handlers.start_session(
                tx, admin, user_agent="phone", length=timedelta(hours=1), now=T0, cause=cause
            )
            await handlers.start_session(
                tx, admin, user_agent="office", length=timedelta(hours=1), now=T0, cause=cause
            )
            await handlers.start_session(
                tx, coordinator, user_agent="phone", length=timedelta(hours=1), now=T0, cause=cause
            )
            await handlers.end_session(
                tx, ended.session_id, reason=SessionEnding.REVOKED, by=admin, now=T0, cause=cause
            )
            await handlers.change_scope(
                tx, ChangeScope(coordinator, ("15835", "38")), now=T0, cause=cause
            )
            await handlers.pause_account(tx, PauseAccount(coordinator, admin), now=T0, cause=cause)
            for label in ("kept", "revoked"):
                issue = IssueApiToken(
                    jti=handlers.new_token_id(),
                    label=label,
                    role=AccountRole.COORDINATOR,
                    scope=("15835",),
                    lifetime_days=30,
                    issued_by=admin,
                    issuer_scope=(),
                )
                await handlers.issue_api_token(
                    tx, issue, keys=settings.token_keys, now=T0, cause=cause
                )
            revoke = RevokeApiToken(
                jti=issue.jti,
                expires_at=T0 + timedelta(days=30),
                role=AccountRole.COORDINATOR,
                scope=("15835",),
                revoked_by=admin,
                revoker_scope=(),
            )
            await handlers.revoke_api_token(tx, revoke, now=T0, cause=cause)

        live = await snapshot(store)
        replayed = await rebuild_read_models(store, PARTS.read_models)
        rebuilt = await snapshot(store)

    assert replayed > 0
    assert len(live["accounts"]) == 2
    assert sum(row[5] is None for row in live["web_sessions"]) == 1  # only one still open
    assert sorted(row[7] is None for row in live["api_tokens"]) == [False, True]
    assert rebuilt == live
