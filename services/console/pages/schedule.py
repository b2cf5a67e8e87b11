"""Schedule a session, or the same session every week: the form checks what it can, the
scheduler decides the rest (its refusals shown beside the field, in the reader's language);
a weekly series is shown first, holidays skipped and named, and scheduled once confirmed."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Template

from services.console.domain.communes import commune, communes_in, covers
from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.refusals import GENERAL, messages_for
from services.console.peers import PeerError, PeerRefusedError
from services.console.views.queries import Viewer
from shared.events.console import AccountRole
from shared.web.auth import ForbiddenError

TOPICS = (
    ("vneid_activation", N_("Activating VNeID")),
    ("online_public_services", N_("Online public services")),
    ("cashless_payment", N_("Cashless payment")),
    ("smartphone_basics", N_("Smartphone basics")),
    ("screen_reader", N_("Screen reader")),
    ("business_apps", N_("Apps for a small business")),
    ("online_learning", N_("Online learning")),
)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SATURDAY, SUNDAY = 5, 6


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date
    holiday: str


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    dates: list[date]
    skipped: list[Skipped]


class _Created(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date


class _Series(msgspec.Struct, frozen=True, kw_only=True):
    sessions: list[_Created]
    skipped: list[Skipped]


@dataclass
class ScheduleForm:
    """The form as typed (strings), so a refused form comes back as it was."""

    commune_code: str = ""
    venue_name: str = ""
    venue_address: str = ""
    local_date: str = ""
    start_local: str = "08:00"
    end_local: str = "11:00"
    topics: list[str] = field(default_factory=list)
    capacity: str = "20"
    volunteers_needed: str = "2"
    weekly: bool = False
    weeks: str = "4"
    key: str = ""


async def _form_of(request: Request[Any, Any, State]) -> tuple[ScheduleForm, str]:
    data = await request.form()
    text = {name: str(data.get(name, "")).strip() for name in ScheduleForm.__dataclass_fields__}
    form = ScheduleForm(
        commune_code=text["commune_code"],
        venue_name=text["venue_name"],
        venue_address=text["venue_address"],
        local_date=text["local_date"],
        start_local=text["start_local"],
        end_local=text["end_local"],
        topics=[str(t) for t in data.getall("topics", [])],
        capacity=text["capacity"],
        volunteers_needed=text["volunteers_needed"],
        weekly=text["weekly"] == "yes",
        weeks=text["weeks"],
        key=text["key"] or str(uuid.uuid4()),
    )
    return form, str(data.get("action", "schedule"))


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _place_errors(form: ScheduleForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    if commune(form.commune_code) is None:
        errors["commune_code"] = N_("There is no commune or ward with this code.")
    if not form.venue_name:
        errors["venue_name"] = N_("Write where the session is held.")
    if not form.venue_address:
        errors["venue_address"] = N_("Write the venue's address.")
    return errors


def _time_errors(form: ScheduleForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    day = _day(form.local_date)
    if day is None:
        errors["local_date"] = N_("Choose a date, e.g. 05/12/2026.")
    elif form.weekly and day.weekday() not in (SATURDAY, SUNDAY):
        errors["local_date"] = N_("Sessions are held on a Saturday or a Sunday.")
    for name in ("start_local", "end_local"):
        if not _TIME.match(getattr(form, name)):
            errors[name] = N_("Write a time as hours and minutes, e.g. 08:00.")
    if form.weekly and _number(form.weeks) is None:
        errors["weeks"] = N_("Repeat for 1 to 52 weeks.")
    return errors


def form_errors(form: ScheduleForm) -> dict[str, str]:
    """What the console itself can tell is wrong (catalog ids), before asking the scheduler."""
    errors = _place_errors(form) | _time_errors(form)
    known = {value for value, _label in TOPICS}
    if not form.topics or not set(form.topics) <= known:
        errors["topics"] = N_("Choose at least one topic.")
    if _number(form.capacity) is None:
        errors["capacity"] = N_("Write how many residents it takes: 1 to 500.")
    if _number(form.volunteers_needed) is None:
        errors["volunteers_needed"] = N_("Write how many volunteers it needs: 1 to 50.")
    return errors


def body_of(form: ScheduleForm) -> dict[str, object]:
    """The scheduler's body for the form: a session, or (weekly) a series from its date."""
    body: dict[str, object] = {
        "commune_code": form.commune_code,
        "venue": {"name": form.venue_name, "address": form.venue_address},
        "start_local": f"{form.start_local}:00",
        "end_local": f"{form.end_local}:00",
        "topics": form.topics,
        "capacity": int(form.capacity),
        "volunteers_needed": int(form.volunteers_needed),
    }
    if not form.weekly:
        return body | {"local_date": form.local_date}
    day = date.fromisoformat(form.local_date)
    weekday = "sunday" if day.weekday() == SUNDAY else "saturday"
    return body | {"first_date": form.local_date, "weeks": int(form.weeks), "weekday": weekday}


def _may_schedule(viewer: Viewer) -> Viewer:
    if viewer.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers do not schedule sessions")
    return viewer


def _in_scope(viewer: Viewer, code: str) -> None:
    account = viewer.account
    everything = account.role is AccountRole.ADMIN and not account.scope
    if not everything and not covers(account.scope, code):
        raise ForbiddenError(f"commune {code} is outside this account's scope")


def _page(viewer: Viewer, form: ScheduleForm, status: int = 200, **context: object) -> Template:
    errors: dict[str, str] = context.pop("errors", None) or {}  # type: ignore[assignment]
    return page(
        "schedule.html",
        status=status,
        viewer=viewer,
        form=form,
        topics=TOPICS,
        communes=communes_in(viewer.account.scope),
        errors={name: _(message) for name, message in errors.items()},
        general=GENERAL,
        **context,
    )


@get("/schedule", include_in_schema=False)
async def schedule_form(viewer: NamedDependency[Viewer | None]) -> Template:
    found = _may_schedule(signed_in(viewer))
    own = communes_in(found.account.scope)
    form = ScheduleForm(commune_code=own[0].code if own else "", key=str(uuid.uuid4()))
    return _page(found, form)


@post("/schedule", include_in_schema=False)
async def schedule(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    found = _may_schedule(signed_in(viewer))
    form, action = await _form_of(request)
    errors = form_errors(form)
    if "commune_code" not in errors:
        _in_scope(found, form.commune_code)
    if errors:
        return _page(found, form, 400, errors=errors)
    peers = console_of(request).peers
    caller = caller_of(found)
    try:
        if not form.weekly:
            await peers.send(
                caller,
                "POST",
                peers.scheduler("/sessions"),
                body=body_of(form),
                idempotency_key=form.key,
            )
            day = date.fromisoformat(form.local_date)
            return _page(found, ScheduleForm(commune_code=form.commune_code), done=[day])
        if action != "confirm":
            answer = await peers.send(
                caller, "POST", peers.scheduler("/sessions/recurring/preview"), body=body_of(form)
            )
            preview = msgspec.json.decode(answer, type=Preview)
            return _page(found, form, preview=preview)
        answer = await peers.send(
            caller,
            "POST",
            peers.scheduler("/sessions/recurring"),
            body=body_of(form),
            idempotency_key=form.key,
        )
        series = msgspec.json.decode(answer, type=_Series)
    except PeerRefusedError as refused:
        wrong = messages_for([(r.field, r.kind) for r in refused.refusals])
        return _page(found, form, 400 if refused.status < 500 else 503, errors=wrong)
    except PeerError:
        return _page(
            found,
            form,
            503,
            errors={GENERAL: N_("The schedule is not answering just now. Try again in a minute.")},
        )
    return _page(
        found,
        ScheduleForm(commune_code=form.commune_code),
        done=[s.local_date for s in series.sessions],
        skipped=series.skipped,
    )


routes: list[Any] = [schedule_form, schedule]
