from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

from shared.events import build_catalog
from shared.events.catalog import encode
from shared.events.notifications import (
    EVENTS,
    HelpRequestedBySms,
    InboundSmsId,
    MessageId,
    SmsEncoding,
    SmsKind,
    SmsLanguage,
    SmsQueued,
)
from shared.events.vocabulary import Topic

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
            language=SmsLanguage.VI,
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
            topic=Topic.VNEID_ACTIVATION,
            commune_text="THIEU TRUNG",
            text="GIUP VNEID THIEU TRUNG",
            received_at=NOW,
        ),
    ):
        assert catalog.decode(event.event_type, event.schema_version, encode(event)) == event


def test_a_stored_v1_help_request_by_sms_names_its_topic_by_the_shared_vocabulary() -> None:
    catalog = build_catalog()
    stored = (
        b'{"inbound_id":"inbound-1","resident_phone":"+84912345678","topic":"%s",'
        b'"commune_text":"THIEU TRUNG","text":"GIUP VNEID THIEU TRUNG",'
        b'"received_at":"2025-12-06T01:00:00Z"}'
    )

    vneid = catalog.decode("help.requested_by_sms", 1, stored % b"vneid")
    services = catalog.decode("help.requested_by_sms", 1, stored % b"public_services")
    other = catalog.decode("help.requested_by_sms", 1, stored % b"other")

    assert isinstance(vneid, HelpRequestedBySms)
    assert vneid.topic is Topic.VNEID_ACTIVATION
    assert isinstance(services, HelpRequestedBySms)
    assert services.topic is Topic.ONLINE_PUBLIC_SERVICES
    assert isinstance(other, HelpRequestedBySms)
    assert other.topic is None
