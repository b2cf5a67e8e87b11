"""Consent records (issue 16): what a person agreed to, how, when, to which wording, and who
noted it. A record travels inside the event that files the person (`help.requested`,
`volunteer.registered`), so the log that holds their data also holds why it may be held.

The wordings are kept here, by version, in Vietnamese and English: the console shows them, the
SMS answer to a resident who asked by SMS says one of them, and a record names the version
shown. A wording is never changed once used; a new text is a new version (docs/events.md,
"Consent").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class ConsentPurpose(StrEnum):
    """What the data is kept for: nothing else may be done with it."""

    HELP_SESSIONS = "help_sessions"  # a resident's help: booking, reminders, visits, reports
    VOLUNTEERING = "volunteering"  # a volunteer's assignments and hours


class ConsentChannel(StrEnum):
    """Where the consent was given."""

    CONSOLE = "console"  # a coordinator's console form, read out to the person
    API = "api"  # the public form or another client of the HTTP API
    SMS = "sms"  # the resident's own SMS, answered with the wording
    ROSTER_IMPORT = "roster_import"  # a group's member list, each row saying the member agreed


class ConsentActor(StrEnum):
    """Who recorded the consent: the person themselves, or staff on their behalf."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"


class ConsentRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A person's consent to keeping their data for one purpose.

    `sensitive` is the separate, explicit consent to keep sensitive data (disability,
    ethnicity, a language other than Vietnamese, accessibility needs); without it none is kept.
    `recorded_by_id` is the staff account's id (the token's subject), None when the person
    recorded it themselves.
    """

    purpose: ConsentPurpose
    channel: ConsentChannel
    wording_version: str
    recorded_by: ConsentActor
    recorded_by_id: str | None = None
    sensitive: bool = False
    given_at: datetime


class ConsentWording(msgspec.Struct, frozen=True, kw_only=True):
    """The text a person is shown before agreeing; `sensitive` asks for the explicit part."""

    purpose: ConsentPurpose
    vi: str
    en: str
    sensitive_vi: str = ""
    sensitive_en: str = ""


# Every wording ever shown, by version. Append only: a stored record names its version.
CONSENT_WORDINGS: dict[str, ConsentWording] = {
    "help-v1": ConsentWording(
        purpose=ConsentPurpose.HELP_SESSIONS,
        vi="Người dân đồng ý để chúng tôi lưu tên, số điện thoại, địa chỉ và việc cần hỗ trợ, "
        "chỉ để hẹn và nhắc lịch hỗ trợ số; họ có thể yêu cầu xóa bất cứ lúc nào "
        "(nhắn XOA hoặc báo cán bộ xã).",
        en="The resident agrees that we keep their name, phone number, address and what they "
        "need help with, only to book and remind them of digital help; they can ask us to "
        "erase it at any time (text XOA or tell the commune officer).",
        sensitive_vi="Người dân đồng ý rõ ràng để lưu cả thông tin nhạy cảm (khuyết tật, dân tộc "
        "thiểu số, ngôn ngữ, nhu cầu hỗ trợ tiếp cận), chỉ để sắp xếp hỗ trợ phù hợp.",
        sensitive_en="The resident explicitly agrees that we also keep sensitive details "
        "(disability, ethnic minority, language, accessibility needs), only to arrange "
        "fitting help.",
    ),
    # The sentence added to the one answer a resident who asked by SMS gets (booked or waiting):
    # one UCS-2 part on its own, so the answer stays within the SMS budget
    # (services/notifications/domain/templates.py, `NOTICE_VENUE_MAX`).
    "help-sms-v1": ConsentWording(
        purpose=ConsentPurpose.HELP_SESSIONS,
        vi="Lưu SĐT, xã, nhu cầu chỉ để hẹn hỗ trợ; nhắn XOA để xóa.",
        en="Number and needs kept to book help; text XOA to erase.",
    ),
    "volunteer-v1": ConsentWording(
        purpose=ConsentPurpose.VOLUNTEERING,
        vi="Tình nguyện viên đồng ý để chúng tôi lưu tên, số điện thoại, thôn, kỹ năng, ngôn ngữ "
        "và lịch rảnh, chỉ để phân công và nhắn tin hỗ trợ; họ có thể yêu cầu xóa bất cứ lúc nào.",
        en="The volunteer agrees that we keep their name, phone number, village, skills, "
        "languages and free times, only to assign them and text them about sessions; they can "
        "ask us to erase it at any time.",
    ),
}


class SmsConsentNotice(StrEnum):
    """The wordings an SMS answer can end with (`consent_notice` of the scheduler's events)."""

    HELP_SMS_V1 = "help-sms-v1"


# The wording each channel shows today.
HELP_WORDING = "help-v1"
HELP_SMS_WORDING = SmsConsentNotice.HELP_SMS_V1.value
VOLUNTEER_WORDING = "volunteer-v1"
