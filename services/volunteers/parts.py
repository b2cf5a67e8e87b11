"""What the volunteers service plugs into the shared runtime: tables, read models, consumers,
timers."""

from __future__ import annotations

from services.volunteers.consumers import subscriptions
from services.volunteers.tables import READ_MODELS, metadata, store_tables, timers
from services.volunteers.timers import timer_handlers
from services.volunteers.views.projection import project
from shared.runtime import ServiceParts

PARTS = ServiceParts(
    name="volunteers",
    metadata=metadata,
    tables=store_tables,
    projector=project,
    read_models=READ_MODELS,
    subscriptions=subscriptions,
    timers=timers,
    timer_handlers=timer_handlers,
)
