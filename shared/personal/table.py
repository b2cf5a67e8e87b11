"""The person_keys table, one copy in each service's database that holds personal data."""

from __future__ import annotations

import sqlalchemy as sa

from shared.store.utc import UtcDateTime


def add_person_keys_table(metadata: sa.MetaData) -> sa.Table:
    """Add person_keys to a service's metadata: a person's data key, wrapped by a master key.
    An erased person keeps a row with no key (a tombstone), so no key is ever made for them
    again and what was sealed for them stays unopenable."""
    return sa.Table(
        "person_keys",
        metadata,
        sa.Column("person_id", sa.String(80), primary_key=True),
        sa.Column("master_kid", sa.String(40), nullable=True),  # None once erased
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),  # None once erased
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=True),
    )
