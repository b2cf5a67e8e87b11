"""Revoked bearer tokens, by their `jti`: each service process holds its own set.

For now tokens are revoked in process (tests, and whatever a service's own code revokes).
Accounts and tokens will belong to the console service: it will publish a token-revoked event
(jti and the token's exp), and each service's consumer of it calls `revoke(jti, until=exp)`;
a process starting replays those events from the stream, so its set is whole before it serves.
"""

from __future__ import annotations

from datetime import datetime


class Revocations:
    """Which token ids are revoked, each kept only until its token would have expired anyway."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    def revoke(self, jti: str, *, until: datetime) -> None:
        self._until[jti] = max(until, self._until.get(jti, until))

    def is_revoked(self, jti: str) -> bool:
        return jti in self._until

    def forget_expired(self, now: datetime) -> None:
        """An expired token fails on its exp alone: its revocation need not be kept."""
        self._until = {jti: until for jti, until in self._until.items() if until >= now}

    def __len__(self) -> int:
        return len(self._until)
