"""docs/notifications.md tells every SMS keyword the service understands, so it never drifts."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.notifications.domain import replies
from shared.events.vocabulary import Topic

DOC = Path(__file__).parents[3] / "docs" / "notifications.md"
KINDS = {
    "accept": replies.ACCEPT_WORDS,
    "decline": replies.DECLINE_WORDS,
    "stop": replies.STOP_WORDS,
    "start": replies.START_WORDS,
    "help": frozenset(replies.HELP_WORDS),
    "topic": frozenset(keyword for keyword, _ in replies.HELP_TOPICS),
    "filler": replies.FILLER_WORDS,
    "commune prefix": frozenset(p.strip() for p in replies.COMMUNE_PREFIXES),
    "erase": replies.ERASE_WORDS,
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_keyword_table_names_every_keyword(kind: str) -> None:
    table = DOC.read_text().split("### What an inbound SMS may say", 1)[1]

    assert sorted(word for word in KINDS[kind] if f"`{word}`" not in table) == []


def test_the_table_means_what_the_parser_does() -> None:
    assert isinstance(replies.parse_reply("Dạ có ạ"), replies.Accept)
    assert isinstance(replies.parse_reply("  Hủy "), replies.Stop)
    assert replies.parse_reply("VNEID 15835") == replies.HelpRequest(
        topic=Topic.VNEID_ACTIVATION, commune_code="15835"
    )
