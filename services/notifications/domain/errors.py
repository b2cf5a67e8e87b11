"""The errors the notifications domain raises, each naming the input field that is wrong."""

from __future__ import annotations


class DomainError(Exception):
    """A notifications rule was broken; `field` names the input at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


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
