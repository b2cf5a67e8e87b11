"""An inbound SMS as a Twilio-compatible provider posts it, signed: `handinhand sms from`
plays the resident (or volunteer) against a running notifications service."""

from __future__ import annotations

import uuid

import httpx

from services.notifications.providers.signatures import twilio_signature

INBOUND_PATH = "/sms/inbound"


def inbound_form(sender: str, text: str, to: str = "+84000000000") -> dict[str, str]:
    """The fields the provider sends for one SMS, with a fresh MessageSid."""
    return {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": to, "Body": text}


def post_inbound_sms(
    base_url: str,
    form: dict[str, str],
    secret: str,
    *,
    public_url: str | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST the form to the service, signed for the URL the service checks signatures against
    (its public URL when one is configured, else the URL posted to)."""
    posted_to = base_url.rstrip("/") + INBOUND_PATH
    signed_for = (public_url or base_url).rstrip("/") + INBOUND_PATH
    headers = {"X-Twilio-Signature": twilio_signature(signed_for, form, secret)}
    return httpx.post(posted_to, data=form, headers=headers, timeout=timeout)
