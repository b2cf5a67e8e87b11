"""Read-model rows written before languages were ISO 639 codes, rewritten to the codes.

The events keep their old spellings and are upcast on read (`shared.events.upcasts`); the read
models hold what was projected then, so revision 0003 of the volunteers and scheduler branches
rewrites them with the same spellings table (`shared.events.vocabulary`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from shared.events.vocabulary import Language, upgraded_language, upgraded_languages


def one(old: Any) -> Any:
    """A single language; one we cannot name falls back to Vietnamese, the SMS default."""
    return (upgraded_language(old) or Language.VI.value) if isinstance(old, str) else old


def many(old: Any) -> Any:
    """A list of languages; tags that name none are dropped."""
    return upgraded_languages(old) if isinstance(old, list) else old


def rewrite(
    bind: sa.Connection,
    table: str,
    keys: dict[str, sa.types.TypeEngine[Any]],
    columns: dict[str, tuple[sa.types.TypeEngine[Any], Callable[[Any], Any]]],
) -> None:
    """Rewrite `columns` of every row of `table` whose value changes (rows found by `keys`)."""
    found = sa.table(
        table,
        *(sa.column(key, kind) for key, kind in keys.items()),
        *(sa.column(name, kind) for name, (kind, _) in columns.items()),
    )
    rows = bind.execute(sa.select(*found.c)).mappings().all()
    for row in rows:
        changed = {
            name: upgrade(row[name])
            for name, (_, upgrade) in columns.items()
            if upgrade(row[name]) != row[name]
        }
        if changed:
            where = [found.c[key] == row[key] for key in keys]
            bind.execute(sa.update(found).where(*where).values(**changed))
