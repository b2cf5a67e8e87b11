"""Logs are JSON lines with the correlation id, and never show a whole phone number."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logs import JsonFormatter, correlation_id
from shared.phones import mask_phones


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sent to +84912345678", "sent to +84*****5678"),
        ("from 0912345678 ok", "from 0*****5678 ok"),
        ("84912345678", "84*****5678"),
        ("booking 2026-12-05 at 08:00", "booking 2026-12-05 at 08:00"),
        ("short code 4821", "short code 4821"),
    ],
)
def test_masks_vietnamese_phone_numbers(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


def test_a_log_line_is_json_with_correlation_id_and_masked_phone() -> None:
    record = logging.LogRecord(
        "handinhand.test", logging.INFO, __file__, 1, "texting %s", ("+84912345678",), None
    )
    token = correlation_id.set("corr-1")
    try:
        line = json.loads(JsonFormatter("notifications").format(record))
    finally:
        correlation_id.reset(token)

    assert line["message"] == "texting +84*****5678"
    assert line["correlation_id"] == "corr-1"
    assert line["service"] == "notifications"
    assert line["level"] == "INFO"
