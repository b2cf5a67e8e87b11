"""volunteers read models: languages as ISO 639 codes

Revision ID: volun0003
Revises: volun0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from migrations.iso_languages import many, one, rewrite

revision = "volun0003"
down_revision = "volun0002"
branch_labels = None
depends_on = None


def _gaps(old: Any) -> Any:
    if not isinstance(old, list):
        return old
    return [
        {**gap, "missing_languages": many(gap.get("missing_languages", []))}
        if isinstance(gap, dict)
        else gap
        for gap in old
    ]


def _role(old: Any) -> Any:
    kind, _, name = old.partition(":") if isinstance(old, str) else ("", "", "")
    return f"language:{one(name)}" if kind == "language" else old


def upgrade() -> None:
    bind = op.get_bind()
    text, json = sa.String(), sa.JSON()
    rewrite(
        bind,
        "volunteers",
        {"volunteer_id": text},
        {"languages": (json, many), "preferred_language": (text, one)},
    )
    rewrite(
        bind,
        "slots",
        {"slot_id": text},
        {
            "own_languages": (json, many),
            "required_languages": (json, many),
            "missing_languages": (json, many),
        },
    )
    rewrite(bind, "slot_needs", {"slot_id": text, "booking_id": text}, {"languages": (json, many)})
    rewrite(bind, "weekend_plans", {"saturday": sa.Date()}, {"gaps": (json, _gaps)})
    rewrite(bind, "assignments", {"assignment_id": text}, {"role": (text, _role)})


def downgrade() -> None:
    """The old spellings are not restored: the events keep them, and a rebuild under the old
    code would write them again."""
