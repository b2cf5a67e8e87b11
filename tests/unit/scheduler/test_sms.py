"""Help asked for by SMS: the commune it names and the topic its keyword means."""

from __future__ import annotations

import pytest

from services.scheduler.domain.sms import commune_from_sms, fold_name, topic_from_sms
from shared.events.vocabulary import Topic


@pytest.mark.parametrize(
    ("code", "name", "text"),
    [
        ("15835", None, ""),
        (None, "Thiệu Trung", ""),
        (None, "thieu trung", ""),
        (None, "Xa Thieu Trung", ""),
        (None, None, "VNEID 15835 giup toi"),
    ],
)
def test_finds_the_one_commune_an_sms_names(code: str | None, name: str | None, text: str) -> None:
    found = commune_from_sms(code, name, text)
    assert found is not None
    assert found.code == "15835"


def test_an_unknown_or_ambiguous_commune_is_not_guessed() -> None:
    assert commune_from_sms(None, "Atlantis", "GIUP") is None
    assert commune_from_sms("99999", None, "") is None
    assert commune_from_sms(None, None, "goi 0912345678") is None  # a phone is not a code


def test_keywords_map_to_session_topics() -> None:
    assert topic_from_sms(Topic.VNEID_ACTIVATION) is Topic.VNEID_ACTIVATION
    assert topic_from_sms(Topic.ONLINE_PUBLIC_SERVICES) is Topic.ONLINE_PUBLIC_SERVICES
    assert topic_from_sms(None) is Topic.SMARTPHONE_BASICS
    assert fold_name("Xã Đông Sơn") == "xa dong son"
