"""Villages and hamlets: the places import (all or nothing) and a commune's villages as this
process remembers them."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import msgspec

from services.scheduler.domain.places import (
    Place,
    RejectedRow,
    find_commune,
    parse_places_csv,
)
from services.scheduler.memory import Memory
from services.scheduler.views import queries
from shared.events.base import Cause
from shared.events.scheduler import ImportedPlace, PlacesImported
from shared.ids import uuid7
from shared.store.eventstore import EventStore, Transaction

PLACES_STREAM = "places"
PLACES_PER_EVENT = 500  # keeps each places.imported event well under the bus's message size
SAMPLE_PLACES = Path(__file__).parent.parent / "places_sample.csv"


class PlacesReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a places import did: all rows imported, or none and every bad row explained."""

    imported: int
    communes: tuple[str, ...] = ()
    rejected: tuple[RejectedRow, ...] = ()


async def import_places(
    tx: Transaction, text: str, *, memory: Memory, imported_by: str, now: datetime, cause: Cause
) -> PlacesReport:
    """Import villages and hamlets from `code,name,kind,parent` CSV, all or nothing."""
    parsed = parse_places_csv(text, existing_codes=await queries.place_codes(tx.conn))
    if parsed.rejected or not parsed.places:
        return PlacesReport(imported=0, rejected=parsed.rejected)
    memory.villages.importing()
    imported = [
        ImportedPlace(code=p.code, name=p.name, kind=p.kind.value, commune_code=p.commune_code)
        for p in parsed.places
    ]
    events = [
        PlacesImported(
            places=tuple(imported[i : i + PLACES_PER_EVENT]),
            imported_by=imported_by,
            imported_at=now,
        )
        for i in range(0, len(imported), PLACES_PER_EVENT)
    ]
    await tx.append(PLACES_STREAM, await tx.version_of(PLACES_STREAM), events, cause)
    return PlacesReport(
        imported=len(imported), communes=tuple(sorted({p.commune_code for p in imported}))
    )


async def import_places_csv(
    store: EventStore,
    text: str,
    *,
    memory: Memory,
    imported_by: str = "import",
    cause: Cause | None = None,
) -> PlacesReport:
    """The one command that loads a province's villages: import a CSV text, all or nothing."""
    async with store.transaction() as tx:
        report = await import_places(
            tx,
            text,
            memory=memory,
            imported_by=imported_by,
            now=store.clock.now(),
            cause=cause or Cause(correlation_id=uuid7()),
        )
    memory.villages.after_commit()
    return report


async def load_sample_places(store: EventStore, *, memory: Memory) -> PlacesReport:
    """Load the demo's sample villages (places_sample.csv); loading again adds nothing."""
    text = SAMPLE_PLACES.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    async with store.transaction() as tx:
        existing = await queries.place_codes(tx.conn)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0])
        writer.writerows(r for r in rows[1:] if r and r[0].strip() not in existing)
        report = await import_places(
            tx,
            out.getvalue(),
            memory=memory,
            imported_by="sample",
            now=store.clock.now(),
            cause=Cause(correlation_id=uuid7(), id_seed="places-sample"),
        )
    memory.villages.after_commit()
    return report


async def commune_villages(
    tx: Transaction, commune_code: str, *, now: datetime, memory: Memory
) -> dict[str, Place] | None:
    """The commune's imported villages, or None when none were imported (any code goes)."""
    commune = find_commune(commune_code)
    if commune is None:
        return None
    villages = memory.villages
    found = villages.recall(commune.code, now)
    if found is None:
        found = await queries.villages_of(tx.conn, commune.code)
        villages.keep(commune.code, found, now)
    return dict(found) or None
