"""What the console does when another service speaks: nothing yet. The "This weekend" page
asks the scheduler's API when it is opened; a later increment hears staffing events here to
update open pages by server-sent events."""

from __future__ import annotations

from services.console.service import Console
from shared.bus.consumer import Subscription


def subscriptions(_console: Console) -> list[Subscription]:
    return []
