"""What the volunteers service plugs into the shared runtime: its tables, read models and
timers (PARTS); and, from its typed context, its consumers, timers and the revoked tokens
it hears (`work`)."""

from __future__ import annotations

from services.volunteers import consumers, timers
from services.volunteers.service import Volunteers
from services.volunteers.tables import READ_MODELS, metadata, person_keys, store_tables
from services.volunteers.tables import timers as timer_table
from services.volunteers.views import projection
from shared.runtime import ServiceParts, ServiceWork
from shared.web.revocation_feed import forgetting_expired, revocations_heard

PARTS = ServiceParts(
    name="volunteers",
    metadata=metadata,
    tables=store_tables,
    projector=projection.project,
    read_models=READ_MODELS,
    timers=timer_table,
    person_keys=person_keys,
    # volunteers' replies come with their numbers sealed in the notifications' events
    opens_people_of=("notifications",),
)


def work(volunteers: Volunteers) -> ServiceWork:
    return ServiceWork(
        subscriptions=lambda: consumers.subscriptions(volunteers),
        timer_handlers=lambda: timers.timer_handlers(volunteers),
        hearings=lambda: [revocations_heard(volunteers.runtime.revocations)],
        workers=lambda: [
            forgetting_expired(volunteers.runtime.revocations, volunteers.runtime.clock)
        ],
    )
