"""Roster import: every row valid, or every wrong row reported and nothing imported."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

from services.volunteers.domain.roster_csv import RosterAccepted, RosterRejected, parse_roster
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import GroupId, HalfDay, VolunteerId

HEADER = "name,phone,village,skills,languages,saturday,sunday,monthly_limit\n"


def ids() -> Iterator[VolunteerId]:
    return (VolunteerId(f"v{n}") for n in count())


def parse(rows: str) -> RosterAccepted | RosterRejected:
    return parse_roster(HEADER + rows, GroupId("g1"), CommuneCode("15835"), ids())


def test_imports_every_member_with_phones_in_e164() -> None:
    result = parse(
        "Lê Thị Hoa,0912 345 678,Thôn 3,vneid_activation;screen_reader_help,Mường;vi,sáng,both,4\n"
        "Hà Văn Nam,+84987654321,Bản Lát,,,,afternoon,\n"
    )
    assert isinstance(result, RosterAccepted)
    first, second = result.volunteers
    assert first.phone == "+84912345678"
    assert first.skills == (Skill.VNEID_ACTIVATION, Skill.SCREEN_READER_HELP)
    assert first.preferred_language == Language.MTQ
    assert first.availability.saturday == (HalfDay.MORNING,)
    assert first.availability.sunday == (HalfDay.MORNING, HalfDay.AFTERNOON)
    assert second.languages == (Language.VI,)
    assert second.monthly_limit == 4


def test_rejects_the_whole_file_listing_every_wrong_row_and_reason() -> None:
    result = parse(
        "Lê Thị Hoa,0912 345 678,,,,,,\n"
        ",12345,,flying,klingon,sometimes,,lots\n"
        "Trần An,0912345678,,,,,,\n"
    )
    assert isinstance(result, RosterRejected)
    lines = {row.line: row.reasons for row in result.rows}
    assert set(lines) == {3, 4}
    assert len(lines[3]) == 6
    assert lines[4] == ("phone repeats line 2",)


def test_rejects_a_file_without_the_expected_columns() -> None:
    result = parse_roster("name,phone\nA,0912345678\n", GroupId("g1"), CommuneCode("15835"), ids())
    assert isinstance(result, RosterRejected)
    assert "monthly_limit" in result.rows[0].reasons[0]
