"""Roster import: every row valid, or every wrong row reported and nothing imported."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

from services.volunteers.domain.roster_csv import RosterAccepted, RosterRejected, parse_roster
from shared.events.consent import ConsentChannel
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import GroupId, HalfDay, VolunteerId

HEADER = "name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent\n"


def ids() -> Iterator[VolunteerId]:
    return (VolunteerId(f"v{n}") for n in count())


def parse(rows: str) -> RosterAccepted | RosterRejected:
    return parse_roster(HEADER + rows, GroupId("g1"), CommuneCode("15835"), ids())


def test_imports_every_member_with_phones_in_e164() -> None:
    result = parse(
        "Lê Thị Hoa,0912 345 678,Thôn 3,vneid_activation;screen_reader_help,"
        "Mường;vi,sáng,both,4,yes\n"
        "Hà Văn Nam,+84987654321,Bản Lát,,,,afternoon,,yes\n"
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
        "Lê Thị Hoa,0912 345 678,,,,,,,yes\n"
        ",12345,,flying,klingon,sometimes,,lots,yes\n"
        "Trần An,0912345678,,,,,,,yes\n"
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


def test_a_row_without_consent_is_refused_naming_its_line_and_the_column() -> None:
    result = parse(
        "Lê Thị Hoa,0912 345 678,,,,,,,có\n"
        "Hà Văn Nam,+84987654321,,,,,,,\n"
        "Trần An,0912345670,,,,,,,no\n"
    )
    assert isinstance(result, RosterRejected)
    assert [(row.line, row.reasons) for row in result.rows] == [
        (3, ("consent '' must be yes (the member agrees to us keeping their details)",)),
        (4, ("consent 'no' must be yes (the member agrees to us keeping their details)",)),
    ]


def test_a_file_without_the_consent_column_is_refused_whole() -> None:
    old_header = "name,phone,village,skills,languages,saturday,sunday,monthly_limit\n"
    result = parse_roster(
        old_header + "Lê Thị Hoa,0912 345 678,,,,,,\n", GroupId("g1"), CommuneCode("15835"), ids()
    )
    assert isinstance(result, RosterRejected)
    assert result.rows[0].reasons == ("missing column(s): consent",)


def test_imported_members_consent_is_recorded_as_given_on_the_roster_by_the_importer() -> None:
    result = parse_roster(
        HEADER + "Lê Thị Hoa,0912 345 678,,,,,,,đồng ý\n",
        GroupId("g1"),
        CommuneCode("15835"),
        ids(),
        recorded_by="coordinator-3",
    )
    assert isinstance(result, RosterAccepted)
    [member] = result.volunteers
    assert member.consent_given
    assert member.consent_channel is ConsentChannel.ROSTER_IMPORT
    assert member.recorded_by_id == "coordinator-3"
