"""What a drill found: the promise is nothing lost, nothing twice. Every request answered 201
is booked exactly once (as the scheduler's own API shows it), its resident gets exactly one
booking SMS at the provider, and no message is parked by any service."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from bench.drill_load import NO_ANSWER, Outcome
from bench.e2e import BOOKED_MARK, COMMUNE
from bench.gateway import Request
from shared.settings import SERVICES

if TYPE_CHECKING:
    from bench.system import System

# Final answers a client may be left with: 201, or for an unkeyed one 503 (try again later).
# A keyed client retries until 201, so any other end is a finding. `-` is no answer at all.
ACCEPTABLE = frozenset({"201", "503 unkeyed"})


def is_booking_sms(request: Request) -> bool:
    """An SMS handed to the provider (not a look-up) that tells a resident they are booked."""
    return (
        request.method == "POST"
        and request.path.endswith("/Messages.json")
        and BOOKED_MARK in request.form().get("Body", "")
    )


class _Resident(msgspec.Struct):
    request_id: str


class _Roster(msgspec.Struct):
    residents: list[_Resident]


class _Session(msgspec.Struct):
    session_id: str


class _Message(msgspec.Struct):
    status: str


# What notifications' own records may not show once the drill is over: an SMS still being
# sent (its sender died mid-call and nobody resolved it) or given up.
UNSENT = ("sending", "failed")
_LISTED = 500  # the most GET /messages lists at once


@dataclass(frozen=True)
class Verdict:
    """One drill's row. `recover_s`: from the end of the fault to the last expected booking
    SMS (None: some never came). `notes`: what went wrong, in words, for the report."""

    drill: str
    sent: int
    accepted: int
    statuses: dict[str, int]
    keyed_tries: dict[str, int]
    sms_expected: int
    sms_received: int
    sms_missing: int
    sms_doubled: int
    parked: int
    unsent: dict[str, int]
    booked_once: int
    not_booked: int
    booked_twice: int
    recover_s: float | None
    unacceptable: dict[str, int] = field(default_factory=dict)
    fault: str = ""
    notes: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, Any]:
        """Each way the promise was broken, with how often; empty when it held."""
        found: dict[str, Any] = {
            "accepted but not booked": self.not_booked,
            "accepted and booked twice or more": self.booked_twice,
            "booking SMS missing": self.sms_missing,
            "phones with the booking SMS twice or more": self.sms_doubled,
            "parked messages": self.parked,
            **{f"SMS recorded {status}": count for status, count in self.unsent.items()},
        }
        found = {name: count for name, count in found.items() if count}
        if self.unacceptable:
            found["final answers other than 201 (or 503 unkeyed)"] = self.unacceptable
        return found

    @property
    def holds(self) -> bool:
        return not self.problems()

    def as_json(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "holds": self.holds,
            "fault": self.fault,
            "requests": {
                "sent": self.sent,
                "accepted": self.accepted,
                "statuses": self.statuses,
                "keyed_tries": self.keyed_tries,
            },
            "sms": {
                "expected": self.sms_expected,
                "received": self.sms_received,
                "missing": self.sms_missing,
                "doubled": self.sms_doubled,
            },
            "records": {
                "booked_once": self.booked_once,
                "not_booked": self.not_booked,
                "booked_twice": self.booked_twice,
            },
            "parked": self.parked,
            "unsent": self.unsent,
            "unacceptable": self.unacceptable,
            "recover_s": self.recover_s,
            "notes": self.notes,
        }


def _status_label(outcome: Outcome) -> str:
    """`201`, `503 unkeyed`, `500 keyed` ...: a keyed request ends anything but 201 only by
    giving up, which is a finding whatever the status; `-` is no answer at all, with why
    when the connection was open (`- unkeyed ReadTimeout`)."""
    if outcome.status == 201:
        return "201"
    client = "keyed" if outcome.keyed else "unkeyed"
    if outcome.status == NO_ANSWER:
        return f"- {client} {outcome.failure}".rstrip()
    return f"{outcome.status} {client}"


async def judge(
    system: System,
    drill: str,
    outcomes: list[Outcome],
    fault_ended: float,
    *,
    fault: str = "",
    acceptable: frozenset[str] = ACCEPTABLE,
) -> Verdict:
    """Count what the clients, the provider and the system's own records say."""
    accepted = [o for o in outcomes if o.accepted]
    statuses = Counter(_status_label(o) for o in outcomes)
    tries: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.keyed:
            tries.update({"-" if k == NO_ANSWER else str(k): v for k, v in outcome.seen.items()})
    booking_sms = Counter(
        r.form().get("To", "") for r in system.gateway.requests if is_booking_sms(r)
    )
    arrivals = {
        r.form().get("To", ""): r.arrived_at
        for r in reversed(system.gateway.requests)
        if is_booking_sms(r)
    }
    expected = {o.phone for o in accepted}
    received = expected & booking_sms.keys()
    doubled = [phone for phone, count in booking_sms.items() if count > 1]
    unasked = booking_sms.keys() - expected - {o.phone for o in outcomes if not o.accepted}
    bookings = await _bookings(system)
    per_request = Counter(bookings)
    booked = [per_request[o.request_id or ""] for o in accepted]
    parked, parked_notes = await _parked(system)
    unsent = await unsent_sms(system)
    last = max((arrivals[p] for p in received), default=fault_ended)
    notes = parked_notes
    if doubled:
        notes.append(f"{len(doubled)} phones got their booking SMS more than once")
    if unasked:
        notes.append(f"{len(unasked)} booking SMS to phones the drill never used")
    unanswered_booked = sum(1 for o in outcomes if not o.accepted and o.phone in booking_sms)
    if unanswered_booked:
        notes.append(
            f"{unanswered_booked} requests not answered 201 were booked anyway (the client "
            "cannot know: no answer or an error after the commit)"
        )
    return Verdict(
        drill=drill,
        sent=len(outcomes),
        accepted=len(accepted),
        statuses=dict(sorted(statuses.items())),
        keyed_tries=dict(sorted(tries.items())),
        sms_expected=len(expected),
        sms_received=len(received),
        sms_missing=len(expected) - len(received),
        sms_doubled=len(doubled),
        parked=parked,
        unsent=unsent,
        booked_once=sum(1 for count in booked if count == 1),
        not_booked=sum(1 for count in booked if count == 0),
        booked_twice=sum(1 for count in booked if count > 1),
        recover_s=round(max(0.0, last - fault_ended), 1) if received == expected else None,
        unacceptable={k: v for k, v in statuses.items() if k not in acceptable},
        fault=fault,
        notes=notes,
    )


async def _bookings(system: System) -> list[str]:
    """The request id of every booking on the commune's rosters, as the scheduler lists them
    (a request booked twice appears twice)."""
    listed = await system.call("GET", "scheduler", f"/sessions?commune={COMMUNE}")
    listed.raise_for_status()
    found: list[str] = []
    for session in msgspec.json.decode(listed.content, type=list[_Session]):
        roster = await system.call("GET", "scheduler", f"/sessions/{session.session_id}/roster")
        roster.raise_for_status()
        found += [r.request_id for r in msgspec.json.decode(roster.content, type=_Roster).residents]
    return found


async def unsent_sms(system: System) -> dict[str, int]:
    """How many SMS notifications records as still sending, or failed (at most 500 each)."""
    counts: dict[str, int] = {}
    instance = next(iter(system.alive("notifications")), 0)
    for status in UNSENT:
        listed = await system.call(
            "GET",
            "notifications",
            f"/messages?status={status}&limit={_LISTED}",
            instance=instance,
        )
        listed.raise_for_status()
        counts[status] = len(msgspec.json.decode(listed.content, type=list[_Message]))
    return counts


async def _parked(system: System) -> tuple[int, list[str]]:
    """Parked messages of every service (each service's instances share one database, so
    one instance's /metrics counts them all), and `dlq list`'s lines when there are some."""
    total = 0
    for service in SERVICES:
        running = system.alive(service)
        if not running:
            raise AssertionError(f"no instance of {service} runs to count its parked messages")
        metrics = await system.call("GET", service, "/metrics", instance=running[0])
        for line in metrics.text.splitlines():
            if line.startswith("handinhand_parked_messages"):
                total += int(float(line.rsplit(" ", 1)[1]))
    if not total:
        return 0, []
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli", "dlq", "list"],
        env=system.env(),
        capture_output=True,
        check=False,
    )
    kinds: Counter[str] = Counter()
    for line in listed.stdout.decode().splitlines():
        fields = line.split("\t")
        if len(fields) == 7:  # service, id, consumer, event type, attempts, when, error
            service, _id, consumer, event_type, _attempts, _when, error = fields
            kinds[f"{service} {consumer} {event_type}: {error}"] += 1
    return total, [f"parked {count}: {kind}" for kind, count in kinds.most_common()]
