"""console: accounts and web sessions (read models), sign-in codes and their limits

Revision ID: cons0002
Revises: cons0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cons0002"
down_revision = "cons0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("volunteer_id", sa.String(length=200), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("phone"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("session_id", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=30), nullable=True),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])
    op.create_table(
        "web_session_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
        sa.UniqueConstraint("session_id"),
    )
    op.create_table(
        "sign_in_codes",
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wrong_tries", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("phone_key"),
    )
    op.create_table(
        "sign_in_hits",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_hits")
    op.drop_table("sign_in_codes")
    op.drop_table("web_session_keys")
    op.drop_index("ix_web_sessions_account_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("accounts")
