"""The console's pages, one module per part of the site; `routes` is all of them."""

from __future__ import annotations

from typing import Any

from litestar.static_files import create_static_files_router

from services.console.pages import (
    account_erasure,
    accounts,
    copies,
    erasure,
    help_requests,
    live,
    reports,
    schedule,
    session,
    session_actions,
    session_messages,
    sessions,
    sign_in,
    tokens,
    volunteer,
    volunteers,
    weekend,
)
from services.console.pages.common import TEMPLATES

STATIC = TEMPLATES.parent / "static"

routes: list[Any] = [
    *sign_in.routes,
    *weekend.routes,
    *schedule.routes,
    *reports.routes,
    *help_requests.routes,
    *erasure.routes,
    *copies.routes,
    *accounts.routes,
    *account_erasure.routes,
    *tokens.routes,
    *sessions.routes,
    *volunteer.routes,
    *volunteers.routes,
    *session.routes,
    *session_messages.routes,
    *session_actions.routes,
    *live.routes,
    create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
]
