from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.encoding import (
    compare_diacritics,
    is_gsm7,
    measure,
    strip_diacritics,
)
from shared.events.notifications import SmsEncoding


def test_plain_text_is_gsm7_up_to_160_septets_in_one_part() -> None:
    assert measure("a" * 160).encoding is SmsEncoding.GSM7
    assert measure("a" * 160).parts == 1
    assert measure("a" * 161).parts == 2


def test_long_gsm7_text_is_split_in_parts_of_153() -> None:
    assert measure("a" * 306).parts == 2
    assert measure("a" * 307).parts == 3


def test_extension_characters_count_as_two_septets() -> None:
    assert measure("€").units == 2
    assert measure("[x]{y}").units == 10
    assert measure("^" * 80).parts == 1
    assert measure("^" * 81).parts == 2


def test_an_escaped_character_is_never_split_between_parts() -> None:
    # 152 plain septets then an escaped pair: the pair moves whole to the second part.
    assert measure("a" * 152 + "€" + "a" * 152).parts == 3


def test_gsm7_has_its_own_accented_letters() -> None:
    assert is_gsm7("Café à Zürich, £5 ¥ § ¿¡ ÆØÅ")
    assert measure("é").encoding is SmsEncoding.GSM7


def test_vietnamese_diacritics_need_ucs2_with_70_or_67_per_part() -> None:
    assert measure("Thứ Bảy").encoding is SmsEncoding.UCS2
    assert measure("ư" * 70).parts == 1
    assert measure("ư" * 71).parts == 2
    assert measure("ư" * 134).parts == 2
    assert measure("ư" * 135).parts == 3


def test_ucs2_counts_utf16_code_units_so_an_emoji_costs_two() -> None:
    assert measure("ư👍").units == 3
    assert measure("ư" * 69 + "👍").parts == 2


def test_backtick_is_not_gsm7() -> None:
    assert not is_gsm7("`")
    assert strip_diacritics("`a`") == "'a'"


def test_stripping_folds_vietnamese_letters_and_drops_tones() -> None:
    assert strip_diacritics("Đặng Thị Hường, đường Lê Lợi") == "Dang Thi Huong, duong Le Loi"
    assert strip_diacritics("Thứ Bảy 06/12, 08:00") == "Thu Bay 06/12, 08:00"
    assert strip_diacritics("Nhà văn hóa thôn Đồng Xuân") == "Nha van hoa thon Dong Xuan"


def test_comparison_shows_the_parts_saved_by_stripping() -> None:
    text = "Mời bạn hỗ trợ buổi VNeID tại Nhà văn hóa thôn Đồng Xuân, Thứ Bảy 06/12, 08:00."
    choice = compare_diacritics(text)
    assert choice.original_measure.encoding is SmsEncoding.UCS2
    assert choice.stripped_measure.encoding is SmsEncoding.GSM7
    assert choice.original_measure.parts == 2
    assert choice.stripped_measure.parts == 1
    assert choice.parts_saved == 1


@given(st.text())
def test_stripped_text_always_fits_gsm7(text: str) -> None:
    choice = compare_diacritics(text)
    assert is_gsm7(choice.stripped)
    assert choice.stripped_measure.encoding is SmsEncoding.GSM7


VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ ĐÀÁ.,"
)


@given(st.text(alphabet=VIETNAMESE))
def test_stripping_vietnamese_never_adds_parts(text: str) -> None:
    assert compare_diacritics(text).parts_saved >= 0
