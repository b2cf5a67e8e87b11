"""What the console tells a coordinator when the scheduler refuses a session: the APIs answer
problem details naming the field (on the wire) and an English type, so the message is chosen
here by field and type, and shown beside the form's own field in the reader's language."""

from __future__ import annotations

from services.console.i18n import N_

# The scheduler's field names (both the single session's and the series' bodies) as the
# scheduling form calls them.
FORM_FIELD = {
    "commune_code": "commune_code",
    "venue": "venue_name",
    "venue.name": "venue_name",
    "venue.address": "venue_address",
    "venue.village_code": "venue_address",
    "local_date": "local_date",
    "first_date": "local_date",
    "weekday": "local_date",
    "session_id": "local_date",
    "start_local": "start_local",
    "end_local": "end_local",
    "topics": "topics",
    "capacity": "capacity",
    "volunteers_needed": "volunteers_needed",
    "weeks": "weeks",
}

_BY_KIND = {
    ("commune_code", "unknown-commune"): N_("There is no commune or ward with this code."),
    ("commune_code", "out-of-scope"): N_("This commune is outside your scope."),
    ("local_date", "not-a-weekend"): N_("Sessions are held on a Saturday or a Sunday."),
    ("local_date", "session-in-past"): N_("This day has passed: choose a coming day."),
    ("local_date", "session-already-scheduled"): N_("This session is scheduled already."),
}

_BY_FIELD = {
    "commune_code": N_("Choose a commune or ward in your scope."),
    "venue_name": N_("Write where the session is held."),
    "venue_address": N_("Write the venue's address."),
    "local_date": N_("Choose a Saturday or Sunday to come."),
    "start_local": N_("Write the starting time, e.g. 08:00."),
    "end_local": N_("The session must end after it starts."),
    "topics": N_("Choose at least one topic."),
    "capacity": N_("Write how many residents it takes: 1 to 500."),
    "volunteers_needed": N_("Write how many volunteers it needs: 1 to 50."),
    "weeks": N_("Repeat for 1 to 52 weeks."),
}

GENERAL = "form"
_GENERAL = N_("The schedule refused this session. Check the fields and try again.")


def messages_for(refusals: list[tuple[str, str]]) -> dict[str, str]:
    """Each form field at fault with the message (a catalog id) to show beside it; a refusal
    naming no known field is told once, above the form."""
    found: dict[str, str] = {}
    for wire, kind in refusals:
        field = FORM_FIELD.get(wire)
        if field is None:
            found.setdefault(GENERAL, _GENERAL)
            continue
        found.setdefault(field, _BY_KIND.get((field, kind)) or _BY_FIELD[field])
    return found or {GENERAL: _GENERAL}


_HELP_REQUEST = {
    "resident_name": N_("Write the resident's name (at most 200 characters)."),
    "phone": N_("Write a Vietnamese mobile number, e.g. 0912 345 678."),
    "commune_code": N_("Choose a commune or ward in your scope."),
    "address": N_("A home visit needs the resident's address."),
    "topics": N_("Choose at least one topic."),
    "birth_year": N_("Write a year of birth such as 1950, or leave it empty."),
    "consent_given": N_("The resident must agree that we keep these details."),
    "sensitive_consent_given": N_(
        "The resident must agree explicitly that we keep their sensitive details."
    ),
    "preferred_language": N_("Choose a language from the list."),
    "accessibility_needs": N_("Choose accessibility needs from the list."),
}


def help_request_messages(refusals: list[tuple[str, str]]) -> dict[str, str]:
    """A refused help request's fields (the form uses the API's names) and their messages."""
    found: dict[str, str] = {}
    for wire, _kind in refusals:
        field = "address" if wire == "village_code" else wire
        if field in _HELP_REQUEST:
            found.setdefault(field, _HELP_REQUEST[field])
        else:
            found.setdefault(GENERAL, _GENERAL_REQUEST)
    return found or {GENERAL: _GENERAL_REQUEST}


_GENERAL_REQUEST = N_("The request was not accepted. Check the fields and try again.")
