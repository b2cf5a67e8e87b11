"""What a coordinator does to a session from its page: reschedule, change capacity (choosing
who goes back to waiting), cancel after a confirmation, and on the day attendance and closing.
Every change is the scheduler's public API called as the signed-in account; a refusal is shown
beside its field in the reader's language and changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.console.domain.texted import people_texted
from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page
from services.console.pages.session import session_context, show_session, unreachable
from services.console.peers import PeerError, PeerRefusedError
from services.console.views.queries import Viewer
from shared.events.scheduler import CANCEL_REASON_MAX

# What to write beside a field the scheduler refused, by the field its problem names.
_REFUSED = {
    "local_date": N_("This day cannot be used for the session. Choose another date."),
    "start_local": N_("Write the times as hours and minutes, e.g. 08:00."),
    "end_local": N_("Check the times: the session must end after it starts."),
    "venue_name": N_("Write the venue's name."),
    "venue_address": N_("Write the venue's address."),
    "capacity": N_("Write a whole number of places, at least 1."),
    "move_to_waitlist": N_("Tick exactly as many residents as the places you take away."),
    "reason": N_("Say why the session is cancelled."),
    "status": N_("Choose what happened."),
    "outcomes": N_("Choose what happened."),
    "walk_ins": N_("Write how many came without booking: 0 or more."),
}
_GENERAL = N_("The schedule did not accept this change. Check the session and try again.")
_FIELDS = {
    "venue": "venue_name",
    "venue.name": "venue_name",
    "venue.address": "venue_address",
    "booking_id": "status",
    "session_id": "general",
}


def _refused(field: str | None, form_key: str = "") -> dict[str, str]:
    name = _FIELDS.get(field or "", field or "")
    message = _REFUSED.get(name)
    if message is None:
        return {"general": _(_GENERAL)}
    return {form_key or name: _(message)}


async def _apply(
    request: Request[Any, Any, State],
    viewer: Viewer | None,
    session_id: str,
    action: str,
    body: dict[str, object],
    form: dict[str, str],
    error_key: str = "",
) -> Template | Redirect:
    try:
        context = await session_context(request, viewer, session_id)  # scope checked first
        await console_of(request).peers.change_session(
            caller_of(context["viewer"]), session_id, action, body
        )
    except PeerRefusedError as refused:
        errors = _refused(refused.field, error_key)
        return await show_session(request, viewer, session_id, status=400, errors=errors, form=form)
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    return Redirect(f"/sessions/{session_id}")


async def _form(request: Request[Any, Any, State]) -> dict[str, list[str]]:
    data = await request.form()
    return {key: [str(v) for v in data.getall(key)] for key in data}


def _one(form: dict[str, list[str]], key: str) -> str:
    return (form.get(key) or [""])[0].strip()


def _whole(text: str) -> int | None:
    return int(text) if text.isdigit() else None


@post("/sessions/{session_id:str}/reschedule", include_in_schema=False)
async def reschedule(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template | Redirect:
    form = await _form(request)
    kept = {k: _one(form, k) for k in ("local_date", "start_local", "end_local", "venue_name")}
    kept["venue_address"] = _one(form, "venue_address")
    try:
        day = date.fromisoformat(kept["local_date"])
    except ValueError:
        return await show_session(
            request, viewer, session_id, status=400, errors=_refused("local_date"), form=kept
        )
    body: dict[str, object] = {
        "local_date": day.isoformat(),
        "start_local": kept["start_local"],
        "end_local": kept["end_local"],
    }
    if kept["venue_name"]:
        body["venue"] = {"name": kept["venue_name"], "address": kept["venue_address"]}
    return await _apply(request, viewer, session_id, "reschedule", body, kept)


@post("/sessions/{session_id:str}/capacity", include_in_schema=False)
async def change_capacity(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template | Redirect:
    form = await _form(request)
    kept = {"capacity": _one(form, "capacity")}
    capacity = _whole(kept["capacity"])
    if capacity is None or capacity < 1:
        return await show_session(
            request, viewer, session_id, status=400, errors=_refused("capacity"), form=kept
        )
    body: dict[str, object] = {
        "capacity": capacity,
        "move_to_waitlist": form.get("move_to_waitlist", []),
    }
    return await _apply(request, viewer, session_id, "capacity", body, kept)


@get("/sessions/{session_id:str}/cancel", include_in_schema=False)
async def confirm_cancel(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template:
    return await _cancel_page(request, viewer, session_id)


async def _cancel_page(
    request: Request[Any, Any, State],
    viewer: Viewer | None,
    session_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    reason: str = "",
) -> Template:
    try:
        context = await session_context(request, viewer, session_id)
        peers = console_of(request).peers
        caller = caller_of(context["viewer"])
        residents = [r.phone for r in context["roster"]]
        volunteers: dict[str, str] = context["volunteer_phones"]
        # The SMS a cancellation sends: residents are told, volunteers released.
        opted_out = await peers.opted_out(caller, residents, "resident_cancelled")
        opted_out |= await peers.opted_out(caller, list(volunteers.values()), "assignment_released")
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    assignments = context["assignments"] or []
    context["texted"] = people_texted(residents, assignments, volunteers, opted_out)
    context["errors"] = errors or {}
    context["reason"] = reason
    context["reason_max"] = CANCEL_REASON_MAX
    return page("cancel.html", status=status, **context)


@post("/sessions/{session_id:str}/cancel", include_in_schema=False)
async def cancel(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template | Redirect:
    reason = _one(await _form(request), "reason")
    if not reason:
        return await _cancel_page(
            request, viewer, session_id, status=400, errors=_refused("reason")
        )
    if len(reason) > CANCEL_REASON_MAX:
        # Checked here too, so the coordinator's words come back to be shortened, not lost.
        too_long = _("Say why in at most %(most)s characters: it is sent by SMS.")
        errors = {"reason": too_long % {"most": CANCEL_REASON_MAX}}
        return await _cancel_page(
            request, viewer, session_id, status=400, errors=errors, reason=reason
        )
    try:
        context = await session_context(request, viewer, session_id)  # scope checked first
        await console_of(request).peers.change_session(
            caller_of(context["viewer"]), session_id, "cancel", {"reason": reason}
        )
    except PeerRefusedError as refused:
        return await _cancel_page(
            request, viewer, session_id, status=400, errors=_refused(refused.field)
        )
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    return Redirect(f"/sessions/{session_id}")


@post("/sessions/{session_id:str}/attendance", include_in_schema=False)
async def attendance(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template | Redirect:
    form = await _form(request)
    booking = _one(form, "booking_id")
    key = f"attendance-{booking}"
    status = _one(form, "status")
    if status not in ("checked_in", "attended", "no_show"):
        return await show_session(
            request, viewer, session_id, status=400, errors=_refused("status", key)
        )
    body: dict[str, object] = {
        "booking_id": booking,
        "status": status,
        "outcomes": form.get("outcomes", []),
    }
    return await _apply(request, viewer, session_id, "attendance", body, {}, key)


@post("/sessions/{session_id:str}/complete", include_in_schema=False)
async def complete(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template | Redirect:
    kept = {"walk_ins": _one(await _form(request), "walk_ins") or "0"}
    walk_ins = _whole(kept["walk_ins"])
    if walk_ins is None:
        return await show_session(
            request, viewer, session_id, status=400, errors=_refused("walk_ins"), form=kept
        )
    return await _apply(request, viewer, session_id, "complete", {"walk_ins": walk_ins}, kept)


routes: list[Any] = [reschedule, change_capacity, confirm_cancel, cancel, attendance, complete]
