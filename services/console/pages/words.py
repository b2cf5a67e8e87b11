"""The codes the other services give (states, release reasons, vocabularies) in the reader's
words. A code the console does not know yet is shown as it came: seen, not lost (the unit
tests enumerate the services' own enums, so a new code fails there first)."""

from __future__ import annotations

from services.console import i18n
from services.console.i18n import N_
from services.console.i18n import gettext as _
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic, label

_STATES = {
    "scheduled": N_("Scheduled"),
    "cancelled": N_("Cancelled"),
    "completed": N_("Completed"),
    "checked_in": N_("Checked in"),
    "attended": N_("Attended"),
    "no_show": N_("Did not come"),
    "proposed": N_("Asked, no answer yet"),
    "accepted": N_("Coming"),
    "declined": N_("Declined"),
    "released": N_("Released"),
    "expired": N_("Did not answer in time"),
    "served": N_("Served"),
}

# The volunteers service's ReleaseReason (shared/events/volunteers.py): why a place was given up.
_RELEASES = {
    "session_cancelled": N_("the session was cancelled"),
    "volunteer_paused": N_("the volunteer paused their help"),
    "coordinator": N_("released by a coordinator"),
    "session_moved": N_("the session moved to another part of the day or another commune"),
}


def word(value: str) -> str:
    """A topic, need, outcome, language or state as the reader's language writes it."""
    english = i18n.current() == "en"
    for kind in (Topic, Accessibility, Outcome, Language):
        if value in kind._value2member_map_:
            return label(kind(value), english=english)
    known = _STATES.get(value)
    return value if known is None else _(known)


def release_reason(code: str) -> str:
    """Why a volunteer's place was released, in the reader's words."""
    known = _RELEASES.get(code)
    return code if known is None else _(known)


_SMS = {
    "resident": N_("Resident"),
    "volunteer": N_("Volunteer"),
    "coordinator": N_("Coordinator"),
    "sender": N_("Who wrote to us"),
    "queued": N_("Waiting to be sent"),
    "sending": N_("Sending"),
    "sent": N_("Sent, not yet delivered"),
    "delivered": N_("Delivered"),
    "failed": N_("Not delivered"),
    "suppressed": N_("Not sent (opted out)"),
}


def sms_word(value: str) -> str:
    """Who an SMS was for, or where it stands, in the reader's words."""
    known = _SMS.get(value)
    return value if known is None else _(known)
