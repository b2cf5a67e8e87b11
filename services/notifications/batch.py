"""The SMS and reminder plans one consumer transaction gathers from a fetched batch of
events, written with one statement per table just before it commits instead of several
per event. The batch belongs to its transaction: the consumer makes one per transaction
(`Subscription.handle_in`) and hands it to what handles that transaction's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.notifications.handlers import (
    SmsRequest,
    plan_in_force,
    reminder_timers,
    reminders_stream,
    replan,
    timer_prefix,
)
from services.notifications.optouts import with_kept_opt_outs
from services.notifications.settings import NotificationSettings
from services.notifications.tables import timers
from services.notifications.views import projection, queries
from shared.events.base import Cause
from shared.events.notifications import RemindersPlanned
from shared.store.eventstore import StreamAppend, Transaction
from shared.store.timers import Timer, cancel_timers_like, set_timers


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    """Reminders to plan for a booking or an assignment: what `plan_reminders_for` is asked."""

    settings: NotificationSettings
    now: datetime
    cause: Cause
    plan: RemindersPlanned


@dataclass
class SmsBatch:
    """What a transaction gathered and has not written yet. Anything that reads or writes
    the same state in that transaction calls `write` first, so the batch keeps the order of
    the events that made it."""

    tx: Transaction
    sms: list[SmsRequest] = field(default_factory=list)
    plans: list[PlanRequest] = field(default_factory=list)
    message_ids: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.tx.before_commit(self.write)

    async def queue_sms(self, request: SmsRequest) -> None:
        """`handlers.queue_sms`, written with the rest of the batch before the commit."""
        if request.message_id in self.message_ids:
            await self.write()
        self.sms.append(request)
        self.message_ids.add(request.message_id)

    async def plan_reminders(self, request: PlanRequest) -> None:
        """`handlers.plan_reminders_for`, written with the rest of the batch before the commit."""
        if request.plan.target_id in self.targets:
            await self.write()
        self.plans.append(request)
        self.targets.add(request.plan.target_id)

    async def write(self) -> None:
        """Write what was gathered (nothing when nothing was); the batch is empty after."""
        requests, plans = self.sms, self.plans
        if not (requests or plans):
            return
        self.sms, self.plans, self.message_ids, self.targets = [], [], set(), set()
        tx = self.tx
        # One read for the reminder streams (the plan in force) and the messages' own streams:
        # a message whose stream exists was written already (a redelivery) and adds nothing.
        streams = await tx.load_many(
            [
                *(request.message_id for request in requests),
                *(reminders_stream(planning.plan.target_id) for planning in plans),
            ]
        )
        requests = [request for request in requests if streams[request.message_id].version == 0]
        phones = [request.phone for request in requests]
        found = await queries.recipients_by_phone(tx.conn, phones)
        if requests:
            found = await with_kept_opt_outs(tx.conn, requests[0].settings, found, phones)
        appends = [
            StreamAppend(
                request.message_id, 0, request.events(found.get(request.phone)), request.cause
            )
            for request in requests
        ]
        planned_timers: list[Timer] = []
        for planning in plans:
            plan = planning.plan
            stream = streams[reminders_stream(plan.target_id)]
            decided = replan(
                plan, plan_in_force(stream), settings=planning.settings, now=planning.now
            )
            if decided is None:
                continue
            appends.append(
                StreamAppend(
                    reminders_stream(plan.target_id), stream.version, [decided[0]], planning.cause
                )
            )
            if stream.version > 0:
                await cancel_timers_like(tx, timers, timer_prefix(plan.target_id))
            planned_timers.extend(reminder_timers(*decided))
        await tx.append_many(appends, projector=projection.project_many)
        await set_timers(tx, timers, planned_timers)
