"""Load -> decide -> append, for every command of the volunteers service.

Called by the HTTP API, by the consumers of the scheduler's and notifications' events, and by
the timers; each works inside the transaction it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from services.volunteers import planning
from services.volunteers.domain.availability import ChangeAvailability, decide_change_availability
from services.volunteers.domain.calendar_links import (
    CalendarLinkState,
    IssueCalendarLink,
    decide_issue_calendar_link,
    decide_revoke_calendar_link,
    evolve_calendar_link,
)
from services.volunteers.domain.cycle import (
    AnswerAssignment,
    Status,
    decide_answer,
    decide_expire,
    decide_release_volunteer,
)
from services.volunteers.domain.errors import (
    AlreadyRegisteredError,
    InvalidVolunteerError,
    UnknownAssignmentError,
)
from services.volunteers.domain.registry import (
    GroupState,
    PauseVolunteer,
    RegisterGroup,
    RegisterVolunteer,
    ResumeVolunteer,
    UpdateVolunteer,
    VolunteerState,
    decide_pause_volunteer,
    decide_register_group,
    decide_register_volunteer,
    decide_resume_volunteer,
    decide_update_volunteer,
    evolve_group,
    evolve_volunteer,
    group_stream,
    volunteer_stream,
)
from services.volunteers.domain.roster_csv import RejectedRow
from services.volunteers.domain.slots import (
    MoveSlot,
    NoteNeeds,
    OpenSlot,
    SlotState,
    changes_needs,
    decide_close,
    decide_move,
    decide_note_needs,
    decide_open,
    decide_serve,
    weekend_of,
)
from services.volunteers.planning import StaffingOptions, append_to_slot, load_slot
from services.volunteers.tables import assignments
from services.volunteers.views import queries
from shared.communes import province_of
from shared.events.base import Cause, Event
from shared.events.fold import fold
from shared.events.volunteers import (
    AnswerChannel,
    AssignmentId,
    AssignmentReplyUnmatched,
    GroupId,
    ReplyProblem,
    SlotClosing,
    VolunteerId,
)
from shared.ids import derived_id
from shared.store.eventstore import Transaction

log = logging.getLogger("handinhand.volunteers")


# --- Registry ---------------------------------------------------------------------------------


async def load_group(tx: Transaction, group_id: str) -> tuple[GroupState, int]:
    stream = await tx.load(group_stream(GroupId(group_id)))
    state = fold(
        evolve_group, (item.event for item in stream.events), GroupState(group_id=GroupId(group_id))
    )
    return state, stream.version


async def load_volunteer(tx: Transaction, volunteer_id: str) -> tuple[VolunteerState, int]:
    stream = await tx.load(volunteer_stream(VolunteerId(volunteer_id)))
    events = (item.event for item in stream.events)
    state = fold(evolve_volunteer, events, VolunteerState(volunteer_id=VolunteerId(volunteer_id)))
    return state, stream.version


async def register_group(
    tx: Transaction, command: RegisterGroup, *, now: datetime, cause: Cause
) -> None:
    """A group lives in an official commune."""
    if province_of(command.commune_code) is None:
        raise InvalidVolunteerError(
            f"{command.commune_code!r} is not an official commune or ward code", "commune_code"
        )
    state, version = await load_group(tx, command.group_id)
    events = decide_register_group(state, command, now)
    await tx.append(group_stream(command.group_id), version, events, cause)


async def _phone_is_free(tx: Transaction, phone: str, *, volunteer_id: str) -> bool:
    """SMS answers are matched by phone, so one phone belongs to one volunteer."""
    holders = await queries.volunteers_with_phone(tx.conn, phone)
    return all(v.volunteer_id == volunteer_id for v in holders)


async def _plan_where_short(
    tx: Transaction, commune_code: str, *, options: StaffingOptions, now: datetime
) -> None:
    """Someone new to ask: plan again the coming weekends that lack volunteers within reach."""
    reach = options.communes().reach(commune_code)
    for saturday in await queries.weekends_short_of_volunteers(tx.conn, reach, now):
        await planning.plan_soon(tx, saturday, options=options, now=now)


async def register_volunteer(
    tx: Transaction,
    command: RegisterVolunteer,
    *,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    group, _ = await load_group(tx, command.group_id)
    state, version = await load_volunteer(tx, command.volunteer_id)
    events = decide_register_volunteer(state, command, group, now)
    if not await _phone_is_free(tx, events[0].phone, volunteer_id=command.volunteer_id):
        raise AlreadyRegisteredError("another volunteer already has this phone number", "phone")
    await tx.append(volunteer_stream(command.volunteer_id), version, events, cause)
    await _plan_where_short(tx, command.commune_code, options=options, now=now)


async def import_roster(
    tx: Transaction,
    commands: Sequence[RegisterVolunteer],
    *,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> list[RejectedRow]:
    """Register every member, or nobody: rows whose phone is taken are rejected (line numbers
    count the header as line 1, as in the file)."""
    rejected: list[RejectedRow] = []
    for line, command in enumerate(commands, start=2):
        holders = await queries.volunteers_with_phone(tx.conn, command.phone)
        if holders:
            rejected.append(
                RejectedRow(line=line, reasons=("phone already belongs to a registered volunteer",))
            )
    if rejected:
        return rejected
    for command in commands:
        await register_volunteer(tx, command, options=options, now=now, cause=cause)
    return []


async def update_volunteer(
    tx: Transaction, command: UpdateVolunteer, *, now: datetime, cause: Cause
) -> None:
    state, version = await load_volunteer(tx, command.volunteer_id)
    events = decide_update_volunteer(state, command, now)
    if events and not await _phone_is_free(tx, events[0].phone, volunteer_id=command.volunteer_id):
        raise AlreadyRegisteredError("another volunteer already has this phone number", "phone")
    await tx.append(volunteer_stream(command.volunteer_id), version, events, cause)


async def change_availability(
    tx: Transaction,
    command: ChangeAvailability,
    *,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    """New availability; proposals already made stand (the volunteer can still decline)."""
    state, version = await load_volunteer(tx, command.volunteer_id)
    events = decide_change_availability(state, command, now)
    await tx.append(volunteer_stream(command.volunteer_id), version, events, cause)
    if not state.paused:
        await _plan_where_short(tx, state.commune_code, options=options, now=now)


async def pause_volunteer(
    tx: Transaction,
    command: PauseVolunteer,
    *,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    """Pause, release every future assignment of the volunteer, and refill those places."""
    state, version = await load_volunteer(tx, command.volunteer_id)
    events = decide_pause_volunteer(state, command, now)
    await tx.append(volunteer_stream(command.volunteer_id), version, events, cause)
    await release_future_assignments(
        tx, command.volunteer_id, options=options, now=now, cause=cause
    )


async def release_future_assignments(
    tx: Transaction,
    volunteer_id: VolunteerId,
    *,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    """Release every assignment of the volunteer still to come, and refill those places."""
    held = await queries.assignments_where(
        tx.conn,
        assignments.c.volunteer_id == volunteer_id,
        assignments.c.status.in_([Status.PROPOSED.value, Status.ACCEPTED.value]),
        assignments.c.starts_at > now,
    )
    for slot_id in dict.fromkeys(a.slot_id for a in held):
        slot, slot_version = await load_slot(tx, slot_id)
        if not slot.open:
            continue
        released = decide_release_volunteer(slot.staffing, slot.as_solver_slot(), volunteer_id, now)
        slot, slot_version = await append_to_slot(
            tx, slot, version=slot_version, events=released, cause=cause
        )
        await planning.refill(tx, slot, version=slot_version, options=options, now=now, cause=cause)


async def resume_volunteer(
    tx: Transaction,
    command: ResumeVolunteer,
    *,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    state, version = await load_volunteer(tx, command.volunteer_id)
    events = decide_resume_volunteer(state, command, now)
    await tx.append(volunteer_stream(command.volunteer_id), version, events, cause)
    await _plan_where_short(tx, state.commune_code, options=options, now=now)


# --- Calendar links ---------------------------------------------------------------------------


async def _load_calendar_link(
    tx: Transaction, volunteer_id: str
) -> tuple[VolunteerState, CalendarLinkState, int]:
    stream = await tx.load(volunteer_stream(VolunteerId(volunteer_id)))
    events = [item.event for item in stream.events]
    volunteer = VolunteerState(volunteer_id=VolunteerId(volunteer_id))
    link = fold(evolve_calendar_link, events, CalendarLinkState())
    return fold(evolve_volunteer, events, volunteer), link, stream.version


async def issue_calendar_link(
    tx: Transaction, command: IssueCalendarLink, *, now: datetime, cause: Cause
) -> None:
    """A new link to the volunteer's calendar; the one before stops working."""
    volunteer, link, version = await _load_calendar_link(tx, command.volunteer_id)
    events = decide_issue_calendar_link(volunteer, link, command, now)
    await tx.append(volunteer_stream(command.volunteer_id), version, events, cause)


async def revoke_calendar_link(
    tx: Transaction, volunteer_id: str, *, now: datetime, cause: Cause
) -> None:
    volunteer, link, version = await _load_calendar_link(tx, volunteer_id)
    events = decide_revoke_calendar_link(volunteer, link, now)
    await tx.append(volunteer_stream(VolunteerId(volunteer_id)), version, events, cause)


# --- Answers ----------------------------------------------------------------------------------


async def answer_assignment(
    tx: Transaction,
    assignment_id: str,
    *,
    accept: bool,
    channel: AnswerChannel,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> SlotState:
    """A yes holds the place; a no frees it and the next best volunteer is proposed at once."""
    found = await queries.assignment(tx.conn, assignment_id)
    if found is None:
        raise UnknownAssignmentError(f"no assignment {assignment_id}", "assignment_id")
    slot, version = await load_slot(tx, found.slot_id)
    command = AnswerAssignment(
        volunteer_id=found.volunteer_id,
        accept=accept,
        channel=channel,
        assignment_id=AssignmentId(assignment_id),
    )
    events = decide_answer(slot.staffing, command, slot.as_solver_slot(), now)
    slot, version = await append_to_slot(tx, slot, version=version, events=events, cause=cause)
    if not accept:
        slot, version = await planning.refill(
            tx, slot, version=version, options=options, now=now, cause=cause
        )
    return slot


async def answer_by_sms(
    tx: Transaction,
    *,
    inbound_id: str,
    phone: str,
    accept: bool,
    assignment_id: str | None,
    short_code: str | None,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    """Apply an SMS yes/no, matched by phone and then by assignment id, short code, or the only
    proposal waiting; when that fails, record why (with the codes waiting) instead of guessing.
    """
    holders = await queries.volunteers_with_phone(tx.conn, phone)
    pending = [
        a
        for holder in holders
        for a in await queries.assignments_of(tx.conn, holder.volunteer_id)
        if a.status == Status.PROPOSED
    ]
    codes = tuple(sorted(a.short_code for a in pending))
    volunteer_id = holders[0].volunteer_id if len(holders) == 1 else None

    async def unmatched(problem: ReplyProblem) -> None:
        event = AssignmentReplyUnmatched(
            inbound_id=inbound_id,
            volunteer_id=volunteer_id,
            problem=problem,
            pending_codes=codes,
            received_at=now,
        )
        stream = f"reply-{derived_id('reply', inbound_id)}"
        await tx.append(stream, await tx.version_of(stream), [event], cause)
        log.info("SMS answer not applied: %s", problem.value)

    if not holders:
        await unmatched(ReplyProblem.UNKNOWN_PHONE)
        return
    mine = [
        a for holder in holders for a in await queries.assignments_of(tx.conn, holder.volunteer_id)
    ]
    if assignment_id is not None:
        chosen = [a for a in mine if a.assignment_id == assignment_id]
    elif short_code is not None:
        code = short_code.strip()
        chosen = [a for a in pending if a.short_code == code] or [
            a for a in mine if a.short_code == code
        ][-1:]
    else:
        chosen = pending
    if not chosen:
        await unmatched(ReplyProblem.NO_SUCH_ASSIGNMENT)
        return
    if len(chosen) > 1:
        await unmatched(ReplyProblem.SEVERAL_PENDING)
        return
    target = chosen[0]
    if target.status != Status.PROPOSED:
        await unmatched(ReplyProblem.ALREADY_ANSWERED)
        return
    if now > target.answer_by:
        await unmatched(ReplyProblem.TOO_LATE)
        return
    await answer_assignment(
        tx,
        target.assignment_id,
        accept=accept,
        channel=AnswerChannel.SMS,
        options=options,
        now=now,
        cause=cause,
    )


async def expire_answers(
    tx: Transaction, slot_id: str, *, options: StaffingOptions, now: datetime, cause: Cause
) -> None:
    """Proposals past their deadline expire; their places go to the next best volunteers."""
    slot, version = await load_slot(tx, slot_id)
    if not slot.open:
        return
    events = decide_expire(slot.staffing, slot.as_solver_slot(), now)
    slot, version = await append_to_slot(tx, slot, version=version, events=events, cause=cause)
    if events:
        await planning.refill(tx, slot, version=version, options=options, now=now, cause=cause)
    else:
        await planning.sync_deadline(tx, slot)


# --- Slots, from the scheduler's events --------------------------------------------------------


async def open_slot(
    tx: Transaction, command: OpenSlot, *, options: StaffingOptions, now: datetime, cause: Cause
) -> None:
    """Record the slot and plan its weekend soon (together with the other slots opening).

    A slot opened before is being given a new time (a home visit scheduled again): a move."""
    slot, version = await load_slot(tx, command.slot_id)
    if slot.opened:
        move = MoveSlot(
            slot_id=command.slot_id,
            commune_code=command.commune_code,
            place=command.place,
            starts_at=command.starts_at,
            ends_at=command.ends_at,
        )
        await move_slot(tx, move, options=options, now=now, cause=cause)
        return
    events = decide_open(slot, command, now)
    slot, version = await append_to_slot(tx, slot, version=version, events=events, cause=cause)
    if events and slot.needed > 0 and command.starts_at > now:
        await planning.plan_soon(tx, weekend_of(command.starts_at), options=options, now=now)


async def move_slot(
    tx: Transaction, command: MoveSlot, *, options: StaffingOptions, now: datetime, cause: Cause
) -> None:
    """Record the move; released places are planned again with the new weekend."""
    slot, version = await load_slot(tx, command.slot_id)
    before = slot.starts_at
    events = decide_move(slot, command, now)
    slot, version = await append_to_slot(tx, slot, version=version, events=events, cause=cause)
    if events and slot.needed > 0 and command.starts_at > now:
        await planning.plan_soon(tx, weekend_of(command.starts_at), options=options, now=now)
        if before is not None and weekend_of(before) != weekend_of(command.starts_at):
            await planning.plan_soon(tx, weekend_of(before), options=options, now=now)


async def note_needs(
    tx: Transaction, command: NoteNeeds, *, options: StaffingOptions, now: datetime, cause: Cause
) -> None:
    """A resident's needs change the slot's requirements; the weekend is planned again soon.

    Most bookings change nothing (no needs, none noted before): the read models, kept with
    the stream in the same transactions, tell so without loading the slot's stream."""
    if command.booked and not (command.needs.skills or command.needs.languages):
        return  # a new booking (bookings never come back), without needs: nothing to note
    noted = await queries.noted_needs(tx.conn, command.slot_id, command.booking_id)
    if noted is None or not noted.open or not changes_needs(noted.needs, command):
        return
    slot, version = await load_slot(tx, command.slot_id)
    events = decide_note_needs(slot, command, now)
    slot, version = await append_to_slot(tx, slot, version=version, events=events, cause=cause)
    if events and slot.starts_at is not None and slot.starts_at > now and slot.needed > 0:
        await planning.plan_soon(tx, weekend_of(slot.starts_at), options=options, now=now)


async def close_slot(
    tx: Transaction,
    slot_id: str,
    *,
    closing: SlotClosing,
    reason: str = "",
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    """Cancelled: release its places, saying the coordinator's `reason` (the freed volunteers
    may help elsewhere that weekend). Completed: credit the hours of those who accepted."""
    slot, version = await load_slot(tx, slot_id)
    events: list[Event] = decide_close(slot, closing, now, reason)
    slot, version = await append_to_slot(tx, slot, version=version, events=events, cause=cause)
    cancelled = events and closing == SlotClosing.CANCELLED
    if cancelled and slot.starts_at is not None and slot.starts_at > now:
        await planning.plan_soon(tx, weekend_of(slot.starts_at), options=options, now=now)


async def record_service(
    tx: Transaction, slot_id: str, *, volunteer_id: str, now: datetime, cause: Cause
) -> None:
    """A volunteer who records a resident's attendance was there: their assignment counts."""
    slot, version = await load_slot(tx, slot_id)
    events = decide_serve(slot, VolunteerId(volunteer_id), now)
    await append_to_slot(tx, slot, version=version, events=events, cause=cause)


async def plan_weekend_now(
    tx: Transaction, saturday: date, *, options: StaffingOptions, now: datetime, cause: Cause
) -> None:
    """Run the weekend plan (from its timer, or a coordinator asking for it now)."""
    await planning.plan_weekend(tx, saturday, options=options, now=now, cause=cause)
