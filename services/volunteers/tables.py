"""The volunteers service's tables: the shared event store tables, its read models, timers and
its volunteers' data keys."""

from __future__ import annotations

import sqlalchemy as sa

from shared.personal.table import add_person_keys_table
from shared.store.tables import add_store_tables
from shared.store.timers import add_timer_table
from shared.store.utc import UtcDateTime

metadata = sa.MetaData()
store_tables = add_store_tables(metadata)
timers = add_timer_table(metadata)
person_keys = add_person_keys_table(metadata)

_ID = 200
_CODE = 16
_WHEN = UtcDateTime()

groups = sa.Table(
    "volunteer_groups",
    metadata,
    sa.Column("group_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("commune_code", sa.String(_CODE), nullable=False, index=True),
    sa.Column("registered_at", _WHEN, nullable=False),
)

volunteers = sa.Table(
    "volunteers",
    metadata,
    sa.Column("volunteer_id", sa.String(_ID), primary_key=True),
    sa.Column("group_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False, index=True),
    sa.Column("commune_code", sa.String(_CODE), nullable=False, index=True),
    sa.Column("village", sa.String(200), nullable=False),
    sa.Column("skills", sa.JSON(), nullable=False),
    sa.Column("languages", sa.JSON(), nullable=False),
    sa.Column("preferred_language", sa.String(_CODE), nullable=False),
    sa.Column("availability", sa.JSON(), nullable=False),
    sa.Column("exceptions", sa.JSON(), nullable=False),
    sa.Column("monthly_limit", sa.Integer(), nullable=False),
    sa.Column("paused", sa.Boolean(), nullable=False),
    # "", "erasing" (paused for good, being forgotten) or "erased" (name, phone, village blank)
    sa.Column("erasure", sa.String(10), nullable=False, server_default=""),
    sa.Column("registered_at", _WHEN, nullable=False),
    sa.Column("updated_at", _WHEN, nullable=False),
    # The consent record of `volunteer.registered` (shared/events/consent.py); null before.
    sa.Column("consent", sa.JSON(none_as_null=True), nullable=True),
)

slots = sa.Table(
    "slots",
    metadata,
    sa.Column("slot_id", sa.String(_ID), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("saturday", sa.Date(), nullable=False, index=True),
    sa.Column("commune_code", sa.String(_CODE), nullable=False, index=True),
    sa.Column("place", sa.String(400), nullable=False),
    sa.Column("starts_at", _WHEN, nullable=False),
    sa.Column("ends_at", _WHEN, nullable=False),
    sa.Column("needed", sa.Integer(), nullable=False),
    sa.Column("topics", sa.JSON(), nullable=False),
    sa.Column("own_skills", sa.JSON(), nullable=False),
    sa.Column("own_languages", sa.JSON(), nullable=False),
    sa.Column("required_skills", sa.JSON(), nullable=False),
    sa.Column("required_languages", sa.JSON(), nullable=False),
    # open, cancelled or completed
    sa.Column("status", sa.String(20), nullable=False),
    # "", staffed or understaffed (the last staffing event), and what was missing then
    sa.Column("staffing", sa.String(20), nullable=False),
    sa.Column("missing_count", sa.Integer(), nullable=False),
    sa.Column("missing_skills", sa.JSON(), nullable=False),
    sa.Column("missing_languages", sa.JSON(), nullable=False),
)

slot_needs = sa.Table(
    "slot_needs",
    metadata,
    sa.Column("slot_id", sa.String(_ID), primary_key=True),
    sa.Column("booking_id", sa.String(_ID), primary_key=True),
    sa.Column("skills", sa.JSON(), nullable=False),
    sa.Column("languages", sa.JSON(), nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("assignment_id", sa.String(_ID), primary_key=True),
    sa.Column("slot_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("volunteer_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("group_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("commune_code", sa.String(_CODE), nullable=False, index=True),
    sa.Column("starts_at", _WHEN, nullable=False, index=True),
    sa.Column("ends_at", _WHEN, nullable=False),
    # proposed, accepted, declined, expired or released
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("short_code", sa.String(8), nullable=False),
    sa.Column("answer_by", _WHEN, nullable=False),
    sa.Column("role", sa.String(80), nullable=False),
    sa.Column("explanation", sa.String(1000), nullable=False),
    sa.Column("proposed_at", _WHEN, nullable=False),
    sa.Column("answered_at", _WHEN, nullable=True),
    sa.Column("channel", sa.String(10), nullable=True),
    sa.Column("release_reason", sa.String(40), nullable=True),
    sa.Column("served_minutes", sa.Integer(), nullable=True),
    # the topic code the volunteer's SMS and calendar name (shared.events.volunteers
    # proposal_topic); "" or NULL (rows from before it): the slot's first topic
    sa.Column("topic", sa.String(40), nullable=True),
)

# A volunteer's calendar links; at most one per volunteer has no revoked_at. Only the hash of
# a link's secret is kept (services/volunteers/domain/calendar_links.py).
calendar_links = sa.Table(
    "calendar_links",
    metadata,
    sa.Column("link_id", sa.String(_ID), primary_key=True),
    sa.Column("volunteer_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("issued_at", _WHEN, nullable=False),
    sa.Column("revoked_at", _WHEN, nullable=True),
)

weekend_plans = sa.Table(
    "weekend_plans",
    metadata,
    sa.Column("saturday", sa.Date(), primary_key=True),
    sa.Column("planned_at", _WHEN, nullable=False),
    sa.Column("slots", sa.Integer(), nullable=False),
    sa.Column("open_places", sa.Integer(), nullable=False),
    sa.Column("proposed", sa.Integer(), nullable=False),
    # the objective is a lexicographic weighted sum: it outgrows 64 bits on big weekends
    sa.Column("objective", sa.String(80), nullable=False),
    sa.Column("score", sa.JSON(), nullable=False),
    sa.Column("gaps", sa.JSON(), nullable=False),
    sa.Column("solve_ms", sa.Integer(), nullable=False),
)

# Emptied and replayed by `handinhand rebuild`, in this order.
READ_MODELS = (
    groups,
    volunteers,
    slots,
    slot_needs,
    assignments,
    weekend_plans,
    calendar_links,
)
