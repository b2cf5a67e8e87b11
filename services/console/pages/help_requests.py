"""Help requests: a coordinator files one on a resident's behalf (with the resident's consent)
and sees who in the commune still waits for a session place or a home visit, all through the
scheduler's public API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from services.console import i18n
from services.console.domain.communes import commune, communes_in, covers
from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.refusals import GENERAL, help_request_messages
from services.console.pages.schedule import TOPICS
from services.console.pages.words import word
from services.console.peers import PeerError, PeerRefusedError, Venue
from services.console.views.queries import Viewer
from shared.events.consent import CONSENT_WORDINGS, HELP_WORDING
from shared.events.console import AccountRole
from shared.events.vocabulary import Accessibility, Language
from shared.phones import InvalidPhoneError, mask_phone, normalize_phone
from shared.web.auth import ForbiddenError


class Waiting(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    name: str
    phone: str
    topics: list[str]
    waiting_since: datetime


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: str
    request_id: str
    status: str
    topics: list[str]
    staffing: str
    local_date: date | None = None
    start_local: time | None = None
    resident_name: str = ""


class Queue(msgspec.Struct, frozen=True, kw_only=True):
    waiting: list[Waiting]
    home_visits: list[Visit]


class _Slot(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date
    start_local: time


class Filed(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    resident_name: str
    venue: Venue | None = None
    when: _Slot | None = None


@dataclass
class RequestForm:
    resident_name: str = ""
    phone: str = ""
    commune_code: str = ""
    address: str = ""
    topics: list[str] = field(default_factory=list)
    birth_year: str = ""
    home_visit: bool = False
    consent_given: bool = False
    # Sensitive details: kept only with the resident's explicit, separate consent.
    disabled: bool = False
    minority: bool = False
    preferred_language: str = Language.VI.value
    accessibility_needs: list[str] = field(default_factory=list)
    sensitive_consent_given: bool = False
    key: str = ""

    @property
    def sensitive(self) -> bool:
        """Whether the form gives a need that reveals disability, ethnicity or language."""
        return (
            self.disabled
            or self.minority
            or bool(self.accessibility_needs)
            or self.preferred_language != Language.VI.value
        )


def _staff(viewer: Viewer | None) -> Viewer:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers file requests elsewhere")
    return found


def _in_scope(viewer: Viewer, code: str) -> None:
    account = viewer.account
    everything = account.role is AccountRole.ADMIN and not account.scope
    if commune(code) is not None and not everything and not covers(account.scope, code):
        raise ForbiddenError(f"commune {code} is outside this account's scope")


def form_errors(form: RequestForm) -> dict[str, str]:
    """What the console can tell is wrong itself (catalog ids)."""
    errors: dict[str, str] = {}
    if not form.resident_name:
        errors["resident_name"] = N_("Write the resident's name (at most 200 characters).")
    try:
        normalize_phone(form.phone)
    except InvalidPhoneError:
        errors["phone"] = N_("Write a Vietnamese mobile number, e.g. 0912 345 678.")
    if commune(form.commune_code) is None:
        errors["commune_code"] = N_("There is no commune or ward with this code.")
    if not form.topics or not set(form.topics) <= {value for value, _label in TOPICS}:
        errors["topics"] = N_("Choose at least one topic.")
    if form.birth_year and not form.birth_year.isdigit():
        errors["birth_year"] = N_("Write a year of birth such as 1950, or leave it empty.")
    if form.home_visit and not form.address:
        errors["address"] = N_("A home visit needs the resident's address.")
    if not form.consent_given:
        errors["consent_given"] = N_("The resident must agree that we keep these details.")
    return errors | _sensitive_errors(form)


def _sensitive_errors(form: RequestForm) -> dict[str, str]:
    """The sensitive details: known words, and the resident's explicit consent to keep them."""
    errors: dict[str, str] = {}
    if form.preferred_language not in Language._value2member_map_:
        errors["preferred_language"] = N_("Choose a language from the list.")
    if not set(form.accessibility_needs) <= set(Accessibility._value2member_map_):
        errors["accessibility_needs"] = N_("Choose accessibility needs from the list.")
    if form.sensitive and not form.sensitive_consent_given:
        errors["sensitive_consent_given"] = N_(
            "The resident must agree explicitly that we keep their sensitive details."
        )
    return errors


def body_of(form: RequestForm) -> dict[str, object]:
    return {
        "resident_name": form.resident_name,
        "phone": form.phone,
        "commune_code": form.commune_code,
        "address": form.address,
        "topics": form.topics,
        "home_visit": form.home_visit,
        "birth_year": int(form.birth_year) if form.birth_year else None,
        "consent_given": form.consent_given,
        "disabled": form.disabled,
        "minority": form.minority,
        "preferred_language": form.preferred_language,
        "accessibility_needs": form.accessibility_needs,
        "sensitive_consent_given": form.sensitive_consent_given,
        "consent_wording": HELP_WORDING,  # the wording the form shows (`_page`)
        "consent_channel": "console",
    }


async def _queue(request: Request[Any, Any, State], viewer: Viewer, code: str) -> Queue | None:
    """The commune's waiting residents and visits; None when the scheduler cannot say."""
    peers = console_of(request).peers
    try:
        answer = await peers.send(
            caller_of(viewer), "GET", peers.scheduler(f"/communes/{code}/waiting")
        )
    except PeerRefusedError:
        return None
    except PeerError:
        return None
    return msgspec.json.decode(answer, type=Queue)


async def _page(
    request: Request[Any, Any, State],
    viewer: Viewer,
    form: RequestForm,
    status: int = 200,
    errors: dict[str, str] | None = None,
    filed: Filed | None = None,
) -> Template:
    place = commune(form.commune_code)
    queue = await _queue(request, viewer, str(place.code)) if place else None
    return page(
        "help_requests.html",
        status=status,
        viewer=viewer,
        form=form,
        topics=TOPICS,
        topic_names=dict(TOPICS),
        communes=communes_in(viewer.account.scope),
        commune_name=place.name if place else None,
        queue=queue,
        queue_missing=place is not None and queue is None,
        mask=mask_phone,
        errors={name: _(message) for name, message in (errors or {}).items()},
        general=GENERAL,
        filed=filed,
        languages=[language.value for language in Language],
        needs=[need.value for need in Accessibility],
        word=word,
        consent=_wording(),
    )


def _wording() -> dict[str, str]:
    """The consent wording the form shows, in the reader's language (its version is sent)."""
    wording = CONSENT_WORDINGS[HELP_WORDING]
    english = i18n.current() == "en"
    return {
        "general": wording.en if english else wording.vi,
        "sensitive": wording.sensitive_en if english else wording.sensitive_vi,
    }


@get("/help-requests", include_in_schema=False)
async def help_requests_page(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str | None, QueryParameter(name="commune")] = None,
) -> Template:
    found = _staff(viewer)
    own = communes_in(found.account.scope)
    chosen = (commune_code or (own[0].code if own else "")).strip()
    _in_scope(found, chosen)
    form = RequestForm(commune_code=chosen, key=str(uuid.uuid4()))
    if chosen and commune(chosen) is None:
        errors = {"commune_code": N_("There is no commune or ward with this code.")}
        return await _page(request, found, form, 400, errors)
    return await _page(request, found, form)


@post("/help-requests", include_in_schema=False)
async def file_help_request(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    found = _staff(viewer)
    data = await request.form()
    text = {name: str(data.get(name, "")).strip() for name in RequestForm.__dataclass_fields__}
    form = RequestForm(
        resident_name=text["resident_name"],
        phone=text["phone"],
        commune_code=text["commune_code"],
        address=text["address"],
        topics=[str(t) for t in data.getall("topics", [])],
        birth_year=text["birth_year"],
        home_visit=text["home_visit"] == "yes",
        consent_given=text["consent_given"] == "yes",
        disabled=text["disabled"] == "yes",
        minority=text["minority"] == "yes",
        preferred_language=text["preferred_language"] or Language.VI.value,
        accessibility_needs=[str(a) for a in data.getall("accessibility_needs", [])],
        sensitive_consent_given=text["sensitive_consent_given"] == "yes",
        key=text["key"] or str(uuid.uuid4()),
    )
    _in_scope(found, form.commune_code)
    errors = form_errors(form)
    if errors:
        return await _page(request, found, form, 400, errors)
    peers = console_of(request).peers
    try:
        answer = await peers.send(
            caller_of(found),
            "POST",
            peers.scheduler("/help-requests"),
            body=body_of(form),
            idempotency_key=form.key,
        )
    except PeerRefusedError as refused:
        wrong = help_request_messages([(r.field, r.kind) for r in refused.refusals])
        return await _page(request, found, form, 400, wrong)
    except PeerError:
        message = N_("The schedule is not answering just now. Try again in a minute.")
        return await _page(request, found, form, 503, {GENERAL: message})
    filed = msgspec.json.decode(answer, type=Filed)
    fresh = RequestForm(commune_code=form.commune_code, key=str(uuid.uuid4()))
    return await _page(request, found, fresh, filed=filed)


routes: list[Any] = [help_requests_page, file_help_request]
