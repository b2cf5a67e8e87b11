"""The one base of every domain error: a rule was broken, and `field` names the input at fault.

Pure (no I/O), so every service's domain may derive from it. The HTTP layer
(`shared.web.problems`) answers any `DomainError` with 422 unless a service maps a subclass
to another status.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a domain rule; `field` names the input to fix, if one is to blame."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field
