"""What is kept of an erased resident who had opted out: a keyed hash of their number, so a
later SMS to the number is still suppressed. The hash is short enough for the phone column of
`recipients`, where it stands in for the number (`h:` and 18 base32 characters, 90 bits)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.settings import NotificationSettings
from services.notifications.tables import recipients
from services.notifications.views.queries import Recipient

HASH_PREFIX = "h:"


def opted_out_hash(settings: NotificationSettings, phone: str) -> str:
    """Without the deployment's key (HANDINHAND_OPT_OUT_KEY) it names no number."""
    return HASH_PREFIX + keyed(settings, phone)[:18]


def person_of_phone(settings: NotificationSettings, phone: str) -> str:
    """Whom the values about a number are sealed for (a key per number, destroyed when its
    owner is erased); keyed, so the id names no number."""
    return "phone-" + keyed(settings, f"person:{phone}")[:26]


def keyed(settings: NotificationSettings, text: str) -> str:
    """HMAC-SHA-256 of `text` with the deployment's key, in lower-case base32."""
    return _keyed_by(settings.opt_out_key, text)


@functools.lru_cache(maxsize=8192)  # a number is hashed for each of its values in a batch
def _keyed_by(key: str, text: str) -> str:
    digest = hmac.digest(key.encode(), text.encode(), hashlib.sha256)
    return base64.b32encode(digest).decode().lower()


async def with_kept_opt_outs(
    conn: AsyncConnection,
    settings: NotificationSettings,
    found: dict[str, Recipient],
    phones: Iterable[str],
) -> dict[str, Recipient]:
    """`found` (the recipients by number) with the numbers it lacks that an erased resident
    opted out from; a number's own row, if it has one again, decides instead."""
    hashes = {opted_out_hash(settings, phone): phone for phone in set(phones) if phone not in found}
    if not hashes:
        return found
    kept = await conn.scalars(
        sa.select(recipients.c.phone).where(
            recipients.c.phone.in_(list(hashes)), recipients.c.opted_out.is_(True)
        )
    )
    for hashed in kept:
        found[hashes[hashed]] = Recipient(
            phone=hashes[hashed],
            recipient_id="",
            opted_out=True,
            language=None,
            strip_diacritics=None,
            changed_at=datetime.min.replace(tzinfo=UTC),
        )
    return found
