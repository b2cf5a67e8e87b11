"""What the console does when another service speaks: nothing, through a shared durable
consumer. The pages read the other services' APIs when opened, and what keeps open pages up
to date is heard by every instance on its own (services/console/hearings.py), since the
browser holding a page may be on any instance."""

from __future__ import annotations

from services.console.service import Console
from shared.bus.consumer import Subscription


def subscriptions(_console: Console) -> list[Subscription]:
    return []
