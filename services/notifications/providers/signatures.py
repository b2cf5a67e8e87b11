"""Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL plus sorted parameters, base64-encoded."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

Params = Mapping[str, str] | Mapping[str, Sequence[str]] | Iterable[tuple[str, str]]

_DEFAULT_PORTS = {"https": 443, "http": 80}


def _pairs(params: Params) -> list[tuple[str, str]]:
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in params.items():
            if isinstance(value, str):
                pairs.append((key, value))
            else:
                pairs.extend((key, item) for item in value)
        return pairs
    return list(params)


def twilio_signature(url: str, params: Params, auth_token: str) -> str:
    """The signature Twilio sends for a webhook: form fields sorted by name (then value)."""
    payload = url + "".join(key + value for key, value in sorted(_pairs(params)))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    # Twilio may sign with or without the default port; accept either, as its own SDKs do.
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    variants = [url]
    if default is None or parts.hostname is None:
        return variants
    host = parts.hostname
    if parts.port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    elif parts.port == default:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    return variants


def verify_twilio_signature(
    url: str, params: Params, auth_token: str, signature: str | None
) -> bool:
    """Whether a webhook really came from Twilio; compared in constant time."""
    if not signature or not auth_token:
        return False
    pairs = _pairs(params)
    return any(
        hmac.compare_digest(twilio_signature(variant, pairs, auth_token), signature)
        for variant in _url_variants(url)
    )
