"""The volunteers service's setting for the links it hands out (read once, in services/cli.py)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from shared.settings import ConfigError, Settings

PUBLIC_URL = "HANDINHAND_VOLUNTEERS_PUBLIC_URL"


class FeedSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where calendar apps reach this service: the base of every calendar link."""

    public_url: str

    def calendar_url(self, secret: str) -> str:
        """The link a volunteer pastes into their calendar app."""
        return f"{self.public_url}/calendars/{secret}.ics"

    @classmethod
    def from_env(cls, env: Mapping[str, str], settings: Settings) -> FeedSettings:
        """HANDINHAND_VOLUNTEERS_PUBLIC_URL; without it, the address the service listens on."""
        raw = env.get(PUBLIC_URL, "").strip()
        if not raw:
            return cls(public_url=f"http://{settings.host}:{settings.ports['volunteers']}")
        if not raw.startswith(("http://", "https://")):
            raise ConfigError(f"{PUBLIC_URL} must be an http:// or https:// URL")
        return cls(public_url=raw.rstrip("/"))
