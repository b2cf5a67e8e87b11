"""What a scheduler process remembers between requests: bounded, newest version wins, and
villages only for a short while or until places are imported."""

from __future__ import annotations

from datetime import timedelta

from services.scheduler.domain.places import Place, PlaceKind
from services.scheduler.memory import FoldedSession, SessionMemory, VillageMemory
from shared.events.scheduler import CommuneCode, PlaceCode
from tests.unit.scheduler.builders import NOW, THIEU_TRUNG, book, resident, scheduled

VILLAGE = Place(
    code=PlaceCode("15835-01"),
    name="Thôn 1",
    kind=PlaceKind.VILLAGE,
    commune_code=CommuneCode(THIEU_TRUNG),
)


def test_remembers_the_latest_version_of_a_session_whatever_the_order_it_is_kept_in() -> None:
    memory = SessionMemory()
    session = scheduled()
    later = book(session, resident(1), "booking-1")

    memory.keep("session-1", FoldedSession(2, later, None))
    memory.keep("session-1", FoldedSession(1, session, None))

    assert memory.recall("session-1") == FoldedSession(2, later, None)


def test_forgets_the_least_recently_used_session_beyond_its_size() -> None:
    memory = SessionMemory(size=2)
    session = scheduled()
    memory.keep("session-1", FoldedSession(1, session, None))
    memory.keep("session-2", FoldedSession(1, session, None))

    memory.recall("session-1")
    memory.keep("session-3", FoldedSession(1, session, None))

    assert len(memory) == 2
    assert memory.recall("session-2") is None
    assert memory.recall("session-1") is not None


def test_does_not_remember_a_session_that_was_never_scheduled() -> None:
    memory = SessionMemory()

    memory.keep("session-nope", FoldedSession(0, None, None))

    assert memory.recall("session-nope") is None


def test_remembers_villages_for_a_short_while_only() -> None:
    memory = VillageMemory(kept_for=timedelta(seconds=10))
    memory.keep(THIEU_TRUNG, {VILLAGE.code: VILLAGE}, NOW)

    assert memory.recall(THIEU_TRUNG, NOW + timedelta(seconds=9)) == {VILLAGE.code: VILLAGE}
    assert memory.recall(THIEU_TRUNG, NOW + timedelta(seconds=10)) is None


def test_an_import_forgets_villages_now_and_again_after_its_commit() -> None:
    memory = VillageMemory()
    memory.keep(THIEU_TRUNG, {}, NOW)

    memory.importing()
    assert memory.recall(THIEU_TRUNG, NOW) is None
    memory.keep(THIEU_TRUNG, {}, NOW)  # read by a transaction before the import committed
    memory.after_commit()

    assert memory.recall(THIEU_TRUNG, NOW) is None
    memory.keep(THIEU_TRUNG, {VILLAGE.code: VILLAGE}, NOW)
    memory.after_commit()  # other commits leave what is remembered alone
    assert memory.recall(THIEU_TRUNG, NOW) == {VILLAGE.code: VILLAGE}
