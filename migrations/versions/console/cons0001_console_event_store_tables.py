"""console event store tables

Revision ID: cons0001
Revises:
"""

from __future__ import annotations

from migrations.store_tables import create_store_tables, drop_store_tables

revision = "cons0001"
down_revision = None
branch_labels = ("console",)
depends_on = None


def upgrade() -> None:
    create_store_tables()


def downgrade() -> None:
    drop_store_tables()
