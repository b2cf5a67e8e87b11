from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

from shared.events import build_catalog
from shared.events.catalog import encode
from shared.events.notifications import (
    EVENTS,
    HelpRequestedBySms,
    HelpTopic,
    InboundSmsId,
    Language,
    MessageId,
    SmsEncoding,
    SmsKind,
    SmsQueued,
)

NOW = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)


def test_wire_names_are_lowercase_noun_dot_past_verb() -> None:
    for event in EVENTS:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*", event.event_type), event


def test_the_catalog_knows_every_notifications_event() -> None:
    catalog = build_catalog()
    for event in EVENTS:
        assert catalog.of(event.event_type).source == "notifications"


def test_events_round_trip_through_the_catalog() -> None:
    catalog = build_catalog()
    for event in (
        SmsQueued(
            message_id=MessageId("sms-1"),
            cause_event_id=UUID(int=1),
            kind=SmsKind.RESIDENT_BOOKED,
            recipient_phone="+84912345678",
            language=Language.VI,
            text="Nhắc lịch",
            encoding=SmsEncoding.UCS2,
            parts=1,
            stripped=False,
            parts_saved=0,
            urgent=False,
            send_after=NOW,
            queued_at=NOW,
        ),
        HelpRequestedBySms(
            inbound_id=InboundSmsId("inbound-1"),
            resident_phone="+84912345678",
            topic=HelpTopic.VNEID,
            commune_text="THIEU TRUNG",
            text="GIUP VNEID THIEU TRUNG",
            received_at=NOW,
        ),
    ):
        assert catalog.decode(event.event_type, 1, encode(event)) == event
