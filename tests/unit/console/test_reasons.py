"""A volunteer's reason for being asked reads in Vietnamese; an unknown part stays as it came."""

from __future__ import annotations

from services.console.domain.reasons import in_vietnamese


def test_each_part_of_the_volunteers_explanation_reads_in_vietnamese() -> None:
    explained = in_vietnamese(
        "teaches vneid_activation; also knows cashless_payment; "
        "2 communes away (15835); 1 recent assignment, 2 more this weekend; host team"
    )
    assert explained == (
        "hướng dẫn kích hoạt VNeID; cũng biết thanh toán không tiền mặt; "
        "cách 2 xã (Xã Thiệu Trung); 1 lần được phân công gần đây, thêm 2 lần cuối tuần này; "
        "thuộc nhóm sở tại"
    )


def test_the_same_commune_and_no_recent_load() -> None:
    assert in_vietnamese("same commune; 0 recent assignments") == (
        "cùng xã; 0 lần được phân công gần đây"
    )


def test_a_part_it_does_not_know_is_kept() -> None:
    assert in_vietnamese("same commune; newly trained") == "cùng xã; newly trained"
