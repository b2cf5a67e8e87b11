"""Where a piece of personal data still is: every row of every table of a service's database,
every message of every JetStream stream, searched as bytes."""

from __future__ import annotations

import unicodedata

import nats
import sqlalchemy as sa
from nats.js.errors import NotFoundError

from shared.settings import Database
from shared.store.database import create_engine


def needles(*texts: str) -> list[bytes]:
    """`texts` in every form the system may keep them: UTF-8 in NFC and NFD, JSON's \\u
    escapes, UTF-16 (SMS in UCS-2); a phone by its last nine digits, which every form
    (+84…, 0…, 84…) ends with."""
    found: set[bytes] = set()
    for text in texts:
        digits = "".join(ch for ch in text if ch.isdigit())
        if text.lstrip("+").isdigit() and len(digits) >= 9:
            found.add(digits[-9:].encode())
            continue
        for form in ("NFC", "NFD"):
            shaped = unicodedata.normalize(form, text)
            found.add(shaped.encode())
            found.add(shaped.encode("utf-16-be"))
            found.add(shaped.encode("ascii", "backslashreplace").replace(b"\\x", b"\\u00"))
    return sorted(found)


def _as_bytes(value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


async def in_database(database: Database, wanted: list[bytes]) -> list[str]:
    """`table.column` of every value of the database that holds one of `wanted`."""
    engine = create_engine(database.url, database.schema, pool_size=1)
    hits: list[str] = []
    try:
        async with engine.connect() as conn:
            # PostgreSQL: the service's schema is the connection's search_path
            names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            for name in names:
                table = sa.table(name)
                result = await conn.execute(sa.select(sa.text("*")).select_from(table))
                for row in result:
                    for column, value in row._mapping.items():
                        raw = _as_bytes(value)
                        if any(needle in raw for needle in wanted):
                            hits.append(f"{name}.{column}")
    finally:
        await engine.dispose()
    return sorted(set(hits))


async def in_streams(nats_url: str, wanted: list[bytes]) -> list[str]:
    """`stream#sequence` of every message (headers or body) that holds one of `wanted`."""
    nc = await nats.connect(nats_url)
    hits: list[str] = []
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            name = info.config.name
            assert name is not None
            for sequence in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
                try:
                    message = await js.get_msg(name, sequence)
                except NotFoundError:
                    continue
                raw = (message.data or b"") + repr(message.headers or {}).encode()
                if any(needle in raw for needle in wanted):
                    hits.append(f"{name}#{sequence}")
    finally:
        await nc.close()
    return hits
