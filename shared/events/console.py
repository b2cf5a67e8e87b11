"""Events published by the console service: who may sign in, and the web sessions they start.

Streams: `account-<uuid>` (a person who signs in to the console: an admin, a coordinator or a
volunteer; its name and phone sealed with the account's key, which the console owns),
`websession-<uuid>` (one signed-in browser) and `apitoken-<jti>` (one bearer token
for an integration, issued or revoked by an admin). Scopes are province or commune
codes (`38`, `15835`); phones are E.164. A session's cookie value and its hash never leave the
console's own tables: events name the session by its id only. Likewise a token's text is in
no event: only its `jti`, which every service refuses once revoked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, NewType

from shared.events.base import Event
from shared.events.personal import Personal

AccountId = NewType("AccountId", str)
WebSessionId = NewType("WebSessionId", str)
# A bearer token's `jti` claim (a UUID): what names it in events and in revocations.
TokenId = NewType("TokenId", str)


class AccountRole(StrEnum):
    """What an account may do: admins everything in their scope (all of it when empty),
    coordinators run the communes in their scope, volunteers see their own record."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"


class SessionEnding(StrEnum):
    """Why a web session stopped being accepted."""

    SIGNED_OUT = "signed_out"
    REVOKED = "revoked"
    ACCOUNT_PAUSED = "account_paused"
    ACCOUNT_ERASED = "account_erased"


class AccountAdded(Event, frozen=True, kw_only=True):
    """Someone may now sign in to the console with this phone."""

    event_type: ClassVar[str] = "account.added"
    person: ClassVar[str] = "account_id"
    account_id: AccountId
    role: AccountRole
    name: Personal
    phone: Personal
    scope: tuple[str, ...] = ()
    volunteer_id: str | None = None
    added_by: str = ""
    added_at: datetime


class AccountPaused(Event, frozen=True, kw_only=True):
    """The account may not sign in until resumed; its open sessions are ended."""

    event_type: ClassVar[str] = "account.paused"
    account_id: AccountId
    paused_by: str = ""
    paused_at: datetime


class AccountResumed(Event, frozen=True, kw_only=True):
    """A paused account may sign in again."""

    event_type: ClassVar[str] = "account.resumed"
    account_id: AccountId
    resumed_by: str = ""
    resumed_at: datetime


class AccountScopeChanged(Event, frozen=True, kw_only=True):
    """The provinces or communes the account covers (the full new list, and the one before)."""

    event_type: ClassVar[str] = "account.scope_changed"
    account_id: AccountId
    scope: tuple[str, ...]
    previous_scope: tuple[str, ...] = ()
    changed_by: str = ""
    changed_at: datetime


class WebSessionStarted(Event, frozen=True, kw_only=True):
    """An account signed in with an SMS code from one browser."""

    event_type: ClassVar[str] = "web_session.started"
    person: ClassVar[str] = "account_id"
    session_id: WebSessionId
    account_id: AccountId
    user_agent: Personal = ""  # names a person's phone or computer, with the account's id
    started_at: datetime
    expires_at: datetime


class WebSessionEnded(Event, frozen=True, kw_only=True):
    """A web session is no longer accepted: signed out, revoked or its account paused."""

    event_type: ClassVar[str] = "web_session.ended"
    session_id: WebSessionId
    account_id: AccountId
    reason: SessionEnding
    ended_by: str = ""
    ended_at: datetime


class ApiTokenIssued(Event, frozen=True, kw_only=True):
    """An admin issued a bearer token for an integration (its text is shown once, kept nowhere)."""

    event_type: ClassVar[str] = "api_token.issued"
    jti: TokenId
    role: AccountRole
    scope: tuple[str, ...] = ()
    label: str
    issued_by: str = ""
    issued_at: datetime
    expires_at: datetime


class ApiTokenRevoked(Event, frozen=True, kw_only=True):
    """Every service refuses this token from now until it would have expired anyway."""

    event_type: ClassVar[str] = "api_token.revoked"
    jti: TokenId
    expires_at: datetime
    revoked_by: str = ""
    reason: str = ""
    revoked_at: datetime


class AccountErased(Event, frozen=True, kw_only=True):
    """The account's name, phone and browsers are forgotten (its data key destroyed): it is
    paused for good, and its phone may be given to a new account."""

    event_type: ClassVar[str] = "account.erased"
    account_id: AccountId
    erased_by: str = ""
    erased_at: datetime


class CopyPerson(StrEnum):
    """Whose own copy was given: a resident (named by a help request) or a volunteer."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"


class SubjectAccessGiven(Event, frozen=True, kw_only=True):
    """A person's own copy of their data was handed out (issue 16, subject access): to whom
    (the signed-in account), for which person (a request or volunteer id, never a number),
    which services answered and which did not. Stream `copy-<copy id>`."""

    event_type: ClassVar[str] = "subject_access.given"
    copy_id: str
    person: CopyPerson
    person_id: str
    asked_by: AccountId
    asked_role: AccountRole
    answered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    given_at: datetime


EVENTS: tuple[type[Event], ...] = (
    AccountAdded,
    AccountPaused,
    AccountResumed,
    AccountScopeChanged,
    WebSessionStarted,
    WebSessionEnded,
    ApiTokenIssued,
    ApiTokenRevoked,
    AccountErased,
    SubjectAccessGiven,
)
