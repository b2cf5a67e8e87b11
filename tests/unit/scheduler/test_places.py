from __future__ import annotations

from pathlib import Path

import pytest

from services.scheduler.domain.errors import OutOfScopeError, UnknownCommuneError
from services.scheduler.domain.places import (
    PlaceKind,
    commune_in_scope,
    communes_of,
    find_commune,
    find_province,
    parse_places_csv,
    province_of,
    require_commune_in_scope,
)

SAMPLE = Path(__file__).parents[3] / "services" / "scheduler" / "places_sample.csv"


def test_thanh_hoa_has_166_communes_and_wards_including_thieu_trung() -> None:
    communes = communes_of("38")
    assert len(communes) == 166
    assert find_commune("15835") in communes
    province = find_province("38")
    assert province is not None
    assert province.name == "Thanh Hóa"


def test_finds_a_commune_by_its_official_code() -> None:
    commune = find_commune("15835")
    assert commune is not None
    assert (commune.name, commune.kind, commune.province_code) == ("Xã Thiệu Trung", "xã", "38")
    assert province_of(commune.code) == "38"


def test_pads_short_codes_and_refuses_unknown_ones() -> None:
    hoan_kiem = find_commune("70")
    assert hoan_kiem is not None
    assert hoan_kiem.code == "00070"
    assert find_commune("99999") is None
    assert find_commune("abc") is None
    assert find_province("99") is None


def test_scope_may_list_a_province_or_single_communes() -> None:
    assert commune_in_scope("15835", ["38"])
    assert commune_in_scope("15835", ["15835"])
    assert not commune_in_scope("15835", ["15772"])
    assert not commune_in_scope("00070", ["38"])
    assert commune_in_scope("00070", ["1"])
    assert not commune_in_scope("99999", ["38"])
    assert not commune_in_scope("15835", [])


def test_refuses_a_commune_outside_the_coordinators_scope() -> None:
    with pytest.raises(OutOfScopeError) as error:
        require_commune_in_scope("00070", ["38"])
    assert error.value.field == "commune_code"
    with pytest.raises(UnknownCommuneError):
        require_commune_in_scope("99999", ["38"])


def test_the_shipped_sample_imports_without_a_bad_row() -> None:
    places, rejected = parse_places_csv(SAMPLE.read_text(encoding="utf-8"))
    assert rejected == ()
    assert len(places) >= 10
    assert {p.commune_code for p in places} >= {"15835"}
    assert {p.kind for p in places} == set(PlaceKind)


def test_reports_every_bad_row_with_its_line_and_all_its_reasons() -> None:
    text = (
        "code,name,kind,parent\n"
        "T1,Thôn 1,village,15835\n"
        ",,castle,99999\n"
        "\n"
        "T1,Thôn Một,thôn,15835\n"
        "T2,Thôn 2\n"
        "T3,Tổ dân phố 3,tổ dân phố,15835\n"
    )
    places, rejected = parse_places_csv(text)
    assert [p.code for p in places] == ["T1", "T3"]
    assert places[1].kind is PlaceKind.RESIDENTIAL_GROUP
    assert [r.line for r in rejected] == [3, 5, 6]
    assert len(rejected[0].reasons) == 4  # code, name, kind and parent all wrong
    assert "line 2" in rejected[1].reasons[0]
    assert "4 columns" in rejected[2].reasons[0]


def test_counts_lines_of_quoted_fields_spanning_lines() -> None:
    text = 'code,name,kind,parent\nT1,"Thôn\nMột",village,15835\nT2,,village,15835\n'
    places, rejected = parse_places_csv(text)
    assert len(places) == 1
    assert [r.line for r in rejected] == [4]


def test_refuses_a_file_without_the_expected_header() -> None:
    places, rejected = parse_places_csv("ma,ten,loai,cha\nT1,Thôn 1,village,15835\n")
    assert places == ()
    assert rejected[0].line == 1


def test_refuses_codes_already_imported() -> None:
    _, rejected = parse_places_csv(
        "\ufeffcode,name,kind,parent\nT1,Thôn 1,village,15835\n", existing_codes=["T1"]
    )
    assert "already imported" in rejected[0].reasons[0]
