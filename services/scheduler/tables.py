"""The scheduler service's tables: the shared event store tables, its read models and timers.

Read models are projections of the scheduler's own log (services/scheduler/views/), emptied
and replayed by `handinhand rebuild scheduler`.
"""

from __future__ import annotations

import sqlalchemy as sa

from shared.personal.table import add_person_keys_table
from shared.store.tables import add_store_tables
from shared.store.timers import add_timer_table
from shared.store.utc import UtcDateTime

metadata = sa.MetaData()
store_tables = add_store_tables(metadata)
timers = add_timer_table(metadata)
# The residents' data keys: their names, phones and addresses are sealed in the events.
person_keys = add_person_keys_table(metadata)

Instant = UtcDateTime()

places = sa.Table(
    "places",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("commune_code", sa.String(5), nullable=False),
    sa.Column("province_code", sa.String(2), nullable=False),
    sa.Index("ix_places_commune", "commune_code", "code"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", sa.String(80), primary_key=True),
    sa.Column("commune_code", sa.String(5), nullable=False),
    sa.Column("province_code", sa.String(2), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("local_date", sa.Date(), nullable=False),
    sa.Column("start_local", sa.Time(), nullable=False),
    sa.Column("end_local", sa.Time(), nullable=False),
    sa.Column("starts_at", Instant, nullable=False),
    sa.Column("ends_at", Instant, nullable=False),
    sa.Column("venue", sa.JSON(), nullable=False),
    sa.Column("topics", sa.JSON(), nullable=False),
    sa.Column("languages", sa.JSON(), nullable=False),
    sa.Column("accessibility", sa.JSON(), nullable=False),
    sa.Column("capacity", sa.Integer(), nullable=False),
    sa.Column("booked", sa.Integer(), nullable=False),
    sa.Column("volunteers_needed", sa.Integer(), nullable=False),
    sa.Column("coordinator_id", sa.String(200), nullable=False),
    sa.Column("public_holiday", sa.Boolean(), nullable=False),
    sa.Column("makeup_day", sa.Boolean(), nullable=False),
    # unknown until the volunteers service speaks; then staffed or understaffed
    sa.Column("staffing", sa.String(20), nullable=False),
    sa.Column("volunteer_ids", sa.JSON(), nullable=False),
    sa.Column("missing_volunteers", sa.Integer(), nullable=False),
    sa.Column("staffing_alerted", sa.Boolean(), nullable=False),
    sa.Column("cancel_reason", sa.Text(), nullable=True),
    sa.Column("totals", sa.JSON(), nullable=True),
    sa.Index("ix_sessions_commune_date", "commune_code", "local_date"),
    sa.Index("ix_sessions_open", "province_code", "status", "starts_at"),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("booking_id", sa.String(80), primary_key=True),
    sa.Column("session_id", sa.String(80), nullable=False),
    sa.Column("request_id", sa.String(80), nullable=False),
    sa.Column("resident_name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("preferred_language", sa.String(40), nullable=False),
    sa.Column("topics", sa.JSON(), nullable=False),
    sa.Column("accessibility_needs", sa.JSON(), nullable=False),
    # booked, cancelled, changed, moved_to_waitlist or session_cancelled
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("from_waitlist", sa.Boolean(), nullable=False),
    sa.Column("booked_at", Instant, nullable=False),
    sa.Column("attendance", sa.String(20), nullable=True),
    sa.Column("outcomes", sa.JSON(), nullable=False),
    sa.Index("ix_bookings_session", "session_id"),
    sa.Index("ix_bookings_phone", "phone", "status"),
    sa.Index("ix_bookings_request", "request_id"),
)

help_requests = sa.Table(
    "help_requests",
    metadata,
    sa.Column("request_id", sa.String(80), primary_key=True),
    sa.Column("resident_name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("commune_code", sa.String(5), nullable=False),
    sa.Column("province_code", sa.String(2), nullable=False),
    sa.Column("village_code", sa.String(32), nullable=True),
    sa.Column("address", sa.String(200), nullable=False),
    sa.Column("topics", sa.JSON(), nullable=False),
    sa.Column("accessibility_needs", sa.JSON(), nullable=False),
    sa.Column("preferred_language", sa.String(40), nullable=False),
    sa.Column("preferred_days", sa.JSON(), nullable=False),
    sa.Column("home_visit", sa.Boolean(), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("filed_by", sa.String(200), nullable=True),
    sa.Column("birth_year", sa.Integer(), nullable=True),
    sa.Column("elderly", sa.Boolean(), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False),
    sa.Column("minority", sa.Boolean(), nullable=False),
    # open, waiting, booked, home_visit or cancelled (services/scheduler/domain/requests.py)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("session_id", sa.String(80), nullable=True),
    sa.Column("booking_id", sa.String(80), nullable=True),
    sa.Column("visit_id", sa.String(80), nullable=True),
    sa.Column("requested_at", Instant, nullable=False),
    # The consent record of `help.requested` (shared/events/consent.py); null before issue 16.
    sa.Column("consent", sa.JSON(none_as_null=True), nullable=True),
    sa.Index("ix_help_requests_waiting", "status", "province_code", "requested_at"),
    sa.Index("ix_help_requests_phone", "phone"),
    sa.Index("ix_help_requests_requested", "requested_at"),  # the retention run
)

home_visits = sa.Table(
    "home_visits",
    metadata,
    sa.Column("visit_id", sa.String(80), primary_key=True),
    sa.Column("request_id", sa.String(80), nullable=False),
    sa.Column("commune_code", sa.String(5), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("topics", sa.JSON(), nullable=False),
    sa.Column("accessibility_needs", sa.JSON(), nullable=False),
    sa.Column("volunteers_needed", sa.Integer(), nullable=False),
    sa.Column("local_date", sa.Date(), nullable=True),
    sa.Column("start_local", sa.Time(), nullable=True),
    sa.Column("end_local", sa.Time(), nullable=True),
    sa.Column("staffing", sa.String(20), nullable=False),
    sa.Column("volunteer_ids", sa.JSON(), nullable=False),
    sa.Column("outcomes", sa.JSON(), nullable=False),
    sa.Column("requested_at", Instant, nullable=False),
    sa.Index("ix_home_visits_commune", "commune_code", "status"),
    sa.Index("ix_home_visits_request", "request_id"),
)

# Emptied child-first on rebuild (shared/store/rebuild.py deletes in reverse order).
READ_MODELS = (places, sessions, help_requests, bookings, home_visits)

# The public form's rate limit, counted once for every instance (services/scheduler/quota.py):
# per client address or phone (a keyed hash of it), the times of its latest requests. Not a
# read model (no event says any of it); rows are forgotten once their window has passed.
# Times are microseconds since the epoch, written as plain numbers: this is on the public
# route's path, and conversions per row cost more than the statements.
help_request_hits = sa.Table(
    "help_request_hits",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("hits", sa.Text(), nullable=False),  # comma-separated, oldest first
    sa.Column("forget_after", sa.BigInteger(), nullable=False),  # the latest hit + the window
    sa.Index("ix_help_request_hits_forget", "forget_after"),
)
