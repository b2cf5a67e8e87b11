"""Phone numbers as the network knows them: E.164, Vietnamese local numbers accepted."""

from __future__ import annotations

import phonenumbers


def e164(text: str) -> str | None:
    """+84912345678 for "0912 345 678", "84912345678" or "+84 912 345 678"; None if not a number."""
    raw = text.strip()
    if raw.isdigit() and raw.startswith("84") and len(raw) == 11:
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
