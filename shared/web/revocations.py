"""Revoked bearer tokens, by their `jti`: each service process holds its own set.

Fed by shared/web/revocation_feed.py: the console appends `api_token.revoked` (the jti and
the token's exp) and every instance of every service hears it and calls `revoke(jti,
until=exp)`; an instance starting replays those events from the stream and is not ready until
its set is whole. A worker there calls `forget_expired` every ten minutes.
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
