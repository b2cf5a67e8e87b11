"""The errors the notifications domain raises, each naming the input field that is wrong."""

from __future__ import annotations

from shared.errors import DomainError as SharedDomainError


class DomainError(SharedDomainError):
    """A notifications rule was broken; `field` names the input at fault, if one is."""


class TemplateContextError(DomainError):
    """A template could not be filled from its context, so no broken SMS is written."""


class MessageTooLongError(DomainError):
    """A rendered SMS would need more parts than a deployment pays for."""


class MessageStateError(DomainError):
    """A message was asked to do something its current state does not allow."""


class MessageNotDueError(DomainError):
    """A message is waiting (quiet hours or retry backoff) and must not be sent yet."""


class InvalidScheduleError(DomainError):
    """Quiet hours, reminder offsets or a retry policy were configured with impossible values."""
