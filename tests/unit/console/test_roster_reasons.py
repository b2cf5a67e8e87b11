"""Why a roster line was refused reads in Vietnamese, read back from the volunteers service's
own reasons (so a change of its wording there fails here); an unknown reason stays as it
came."""

from __future__ import annotations

from itertools import count

import pytest

from services.console import i18n
from services.console.pages.roster_reasons import roster_line_reasons
from services.volunteers.domain.roster_csv import RosterRejected, parse_roster
from shared.events.scheduler import CommuneCode
from shared.events.volunteers import GroupId, VolunteerId

HEADER = "name,phone,village,skills,languages,saturday,sunday,monthly_limit,consent\n"


@pytest.fixture(autouse=True)
def catalogs() -> None:
    i18n.load_catalogs()


def refused(text: str) -> list[str]:
    """The volunteers service's reasons for each wrong line of `text`, as it sends them."""
    ids = (VolunteerId(f"volunteer-{n}") for n in count())
    parsed = parse_roster(text, GroupId("group-1"), CommuneCode("15835"), ids)
    assert isinstance(parsed, RosterRejected)
    return ["; ".join(row.reasons) for row in parsed.rows]


def test_every_reason_of_a_wrong_line_reads_in_vietnamese() -> None:
    (line,) = refused(HEADER + ",12345,Thôn 3,flying,klingon,never,,many,yes\n")

    assert roster_line_reasons(line) == (
        "thiếu họ tên; số điện thoại '12345' không phải số di động Việt Nam; "
        "không có kỹ năng 'flying' trong danh sách; "
        "không có ngôn ngữ 'klingon' trong danh sách; "
        "cột saturday: 'never' phải là sáng, chiều, tối, cả ngày "
        "(morning, afternoon, evening, both) hoặc để trống; "
        "cột monthly_limit: 'many' không phải số nguyên"
    )


def test_a_repeated_phone_a_limit_out_of_range_and_a_missing_column() -> None:
    repeated, too_many = refused(
        HEADER
        + "Lò Văn Minh,0912 000 201,,,,morning,,,yes\n"
        + "Hà Thị Lan,0912000201,,,,morning,,,yes\n"
        + "Cầm Văn Thắng,0912 000 202,,,,morning,,999,yes\n"
    )
    (missing,) = refused("name,phone\nLò Văn Minh,0912 000 201\n")

    assert roster_line_reasons(repeated) == "số điện thoại trùng với dòng 2"
    assert roster_line_reasons(too_many).startswith("cột monthly_limit phải từ 0 đến ")
    assert roster_line_reasons(missing).startswith("thiếu cột: village, ")


def test_the_reasons_of_the_service_itself_and_one_it_does_not_know() -> None:
    # a phone already registered is found by the service's handler, not by the parser
    said = roster_line_reasons("phone already belongs to a registered volunteer; newly made up")

    assert said == "số điện thoại này đã thuộc về một tình nguyện viên đã đăng ký; newly made up"


def test_a_row_without_consent_reads_in_vietnamese() -> None:
    (line,) = refused(HEADER + "Lò Văn Minh,0912 000 201,,,,morning,,,\n")

    assert roster_line_reasons(line) == (
        "cột consent: '' phải là yes (có): thành viên phải đồng ý cho chúng tôi lưu thông tin "
        "của họ"
    )
