"""Help asked for by SMS: which commune the sender means, and which session topic fits.

A resident texts a keyword, maybe a commune code or name ("VNEID 15835", "GIUP THIEU TRUNG");
the notifications service passes on what it read. A commune is accepted only when exactly one
commune or ward matches; otherwise the request is refused so the sender can be asked again.
"""

from __future__ import annotations

import re
from functools import cache

from unidecode import unidecode
from vietnam_provinces import Ward

from services.scheduler.domain.errors import FieldProblem
from services.scheduler.domain.places import Commune, find_commune
from services.scheduler.domain.requests import RequestHelp
from shared.events.consent import HELP_SMS_WORDING, ConsentActor, ConsentChannel
from shared.events.notifications import HelpRequestedBySms
from shared.events.scheduler import Channel, HelpRequestId, RefusalCode, RefusalReason
from shared.events.vocabulary import Topic

# The name of a resident who asked by SMS: the text carries none, and SMS replies address them
# with it ("Người dân" reads as "dear resident").
SMS_RESIDENT_NAME = "Người dân"

_CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_PREFIXES = ("xa ", "phuong ", "dac khu ", "thi tran ")


def topic_from_sms(topic: Topic | None) -> Topic:
    """The topic an SMS asked for; a resident who named none is helped with the phone first."""
    return topic or Topic.SMARTPHONE_BASICS


def fold_name(text: str) -> str:
    """A commune name as typed on a basic phone: no diacritics, lower case, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", unidecode(text).lower()).split())


@cache
def _communes_by_name() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for ward in Ward.iter_all():
        full = fold_name(ward.name)
        short = next((full.removeprefix(p) for p in _PREFIXES if full.startswith(p)), full)
        code = str(ward.code.value).zfill(5)
        for key in {full, short}:
            index.setdefault(key, []).append(code)
    return {name: tuple(codes) for name, codes in index.items()}


def commune_from_sms(code: str | None, commune_text: str | None, text: str = "") -> Commune | None:
    """The one commune an SMS names by code or by name, or None when unknown or ambiguous."""
    for candidate in (
        code,
        *_CODE_IN_TEXT.findall(commune_text or ""),
        *_CODE_IN_TEXT.findall(text),
    ):
        if candidate and (commune := find_commune(candidate)) is not None:
            return commune
    if commune_text:
        codes = _communes_by_name().get(fold_name(commune_text), ())
        if len(codes) == 1:
            return find_commune(codes[0])
    return None


def why_no_commune(commune_text: str | None) -> RefusalCode:
    """Why `commune_from_sms` found none: several share the name, or none has it."""
    if commune_text and len(_communes_by_name().get(fold_name(commune_text), ())) > 1:
        return RefusalCode.COMMUNE_AMBIGUOUS
    return RefusalCode.COMMUNE_UNKNOWN


def request_from_sms(event: HelpRequestedBySms, request_id: HelpRequestId) -> RequestHelp:
    """The help request an SMS makes: the sender's phone, the commune it names, its topic."""
    commune = commune_from_sms(event.commune_code, event.commune_text, event.text)
    return RequestHelp(
        request_id=request_id,
        resident_name=SMS_RESIDENT_NAME,
        phone=event.resident_phone,
        commune_code=commune.code if commune else (event.commune_code or ""),
        topics=(topic_from_sms(event.topic),),
        channel=Channel.SMS,
        # The resident wrote to us asking for help; their one answer says what is kept and how
        # to erase it (that wording is the one recorded). An SMS carries no sensitive need.
        consent_given=True,
        consent_wording=HELP_SMS_WORDING,
        consent_channel=ConsentChannel.SMS,
        consent_by=ConsentActor.RESIDENT,
    )


def refusal_reasons(
    problems: tuple[FieldProblem, ...], event: HelpRequestedBySms
) -> tuple[RefusalReason, ...]:
    """Why a help request by SMS was refused, so the answer says what to send instead."""
    reasons = []
    for problem in problems:
        if problem.field == "commune_code":
            code = why_no_commune(event.commune_text)
            message = "send the 5-digit code or the name of your commune"
        elif problem.field == "phone":
            code, message = RefusalCode.PHONE_INVALID, problem.message
        else:
            code, message = RefusalCode.OTHER, problem.message
        reasons.append(RefusalReason(field=problem.field, message=message, code=code))
    return tuple(reasons)
