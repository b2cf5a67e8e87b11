"""What the console plugs into the shared runtime: its tables and read models (PARTS). It has
no timers; beside HTTP it runs its outbox relay and, in every instance, the hearings that keep
its open pages live (hearings.py) and, as every service does, the tokens revoked (its own
`api_token.revoked`, so its calls with a revoked token fail as anywhere)."""

from __future__ import annotations

from services.console import consumers, hearings
from services.console.service import Console
from services.console.tables import READ_MODELS, metadata, person_keys, store_tables
from services.console.views import projection
from shared.runtime import ServiceParts, ServiceWork
from shared.web.revocation_feed import forgetting_expired, revocations_heard

PARTS = ServiceParts(
    name="console",
    metadata=metadata,
    tables=store_tables,
    projector=projection.project,
    read_models=READ_MODELS,
    person_keys=person_keys,  # its accounts' names, phones and browsers
)


def work(console: Console) -> ServiceWork:
    return ServiceWork(
        subscriptions=lambda: consumers.subscriptions(console),
        hearings=lambda: [
            *hearings.hearings(console),
            revocations_heard(console.runtime.revocations),
        ],
        workers=lambda: [forgetting_expired(console.runtime.revocations, console.runtime.clock)],
    )
