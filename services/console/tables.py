"""The console's tables: the shared event store tables, its read models (accounts, web
sessions, API tokens), its accounts' data keys, and what must never reach an event: code
hashes, session-id hashes, request counts."""

from __future__ import annotations

import sqlalchemy as sa

from shared.personal.table import add_person_keys_table
from shared.store.tables import add_store_tables
from shared.store.utc import UtcDateTime

metadata = sa.MetaData()
store_tables = add_store_tables(metadata)
person_keys = add_person_keys_table(metadata)  # person = the account's id

_ID = 200
_WHEN = UtcDateTime()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(_ID), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # NULL once erased: the phone may then be another account's
    sa.Column("phone", sa.String(20), nullable=True, unique=True),
    sa.Column("scope", sa.JSON(), nullable=False),
    sa.Column("volunteer_id", sa.String(_ID), nullable=True),
    sa.Column("paused", sa.Boolean(), nullable=False),
    sa.Column("added_at", _WHEN, nullable=False),
    sa.Column("updated_at", _WHEN, nullable=False),
    sa.Column("erased_at", _WHEN, nullable=True),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("session_id", sa.String(_ID), primary_key=True),
    sa.Column("account_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("user_agent", sa.String(300), nullable=False),
    sa.Column("started_at", _WHEN, nullable=False),
    sa.Column("expires_at", _WHEN, nullable=False),
    sa.Column("ended_at", _WHEN, nullable=True),
    sa.Column("ended_reason", sa.String(30), nullable=True),
)

# Integration tokens the console issued: what the admin sees of them, never their text.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("jti", sa.String(_ID), primary_key=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("scope", sa.JSON(), nullable=False),
    sa.Column("issued_by", sa.String(_ID), nullable=False),
    sa.Column("issued_at", _WHEN, nullable=False),
    sa.Column("expires_at", _WHEN, nullable=False),
    sa.Column("revoked_at", _WHEN, nullable=True),
    sa.Column("revoked_by", sa.String(_ID), nullable=True),
)

# Each person's own copy given (issue 16): who asked, for which request or volunteer id
# (never a number), which services answered. What an admin sees on /copies.
copies_given = sa.Table(
    "copies_given",
    metadata,
    sa.Column("copy_id", sa.String(_ID), primary_key=True),
    sa.Column("person", sa.String(20), nullable=False),
    sa.Column("person_id", sa.String(_ID), nullable=False),
    sa.Column("asked_by", sa.String(_ID), nullable=False),
    sa.Column("asked_role", sa.String(20), nullable=False),
    sa.Column("answered", sa.JSON(), nullable=False),
    sa.Column("missing", sa.JSON(), nullable=False),
    sa.Column("given_at", _WHEN, nullable=False, index=True),
)

READ_MODELS = (accounts, web_sessions, api_tokens, copies_given)

# The cookie's value is never stored: only its SHA-256, which finds the session it opens.
session_keys = sa.Table(
    "web_session_keys",
    metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(_ID), nullable=False, unique=True),
)

# One row per phone that asked for a code (known or not), under the phone's keyed hash: the
# code's keyed hash and the tries.
sign_in_codes = sa.Table(
    "sign_in_codes",
    metadata,
    sa.Column("phone_key", sa.String(64), primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=True),
    sa.Column("expires_at", _WHEN, nullable=False),
    sa.Column("wrong_tries", sa.Integer(), nullable=False),
    sa.Column("locked_until", _WHEN, nullable=True),
)

# Sign-in requests counted per key (the keyed hash of a phone or a client address) in fixed
# windows.
sign_in_hits = sa.Table(
    "sign_in_hits",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("started_at", _WHEN, nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
)
