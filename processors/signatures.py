"""Webhook signatures, verified on the raw bytes with constant-time compares. Pure.

* Meta (WhatsApp): ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>``. Several
  secrets are accepted so an app secret can be rotated without dropping webhooks.
* HubSpot v3: ``X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + uri + body +
  timestamp))`` with ``X-HubSpot-Request-Timestamp`` in epoch ms, rejected when older than 5 min.
* Our own integrations (generic CDC, agent inbox) sign like Meta, with their own secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000
# HubSpot signs the URI with these percent-escapes decoded (its validation docs list them).
_HUBSPOT_DECODE = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
                   "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}


def sign_sha256(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header value for a body (used by tests and `scrm generate`)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_sha256(header: str | None, body: bytes, secrets: Sequence[str]) -> bool:
    if not header or not secrets:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    given = given.lower()
    # Compare against every secret (no early exit) so timing does not reveal which one matched.
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        matched |= hmac.compare_digest(expected, given)
    return matched


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.upper().encode() + _hubspot_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def verify_hubspot_v3(*, signature: str | None, timestamp: str | None, method: str, uri: str, body: bytes,
                      secrets: Sequence[str], now_ms: int) -> str | None:
    """None when the request is authentic and fresh, else the reason it is not."""
    if not signature or not timestamp:
        return "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp"
    if not timestamp.isdigit():
        return "X-HubSpot-Request-Timestamp is not epoch milliseconds"
    age_ms = now_ms - int(timestamp)
    if age_ms > HUBSPOT_MAX_AGE_MS:
        return "timestamp older than 5 minutes"
    if age_ms < -HUBSPOT_MAX_AGE_MS:
        return "timestamp more than 5 minutes in the future"
    matched = False
    for secret in secrets:
        expected = hubspot_v3_signature(secret, method, uri, body, timestamp)
        matched |= hmac.compare_digest(expected, signature.strip())
    return None if matched else "signature does not match"


def _hubspot_uri(uri: str) -> str:
    for escaped, char in _HUBSPOT_DECODE.items():
        uri = uri.replace(escaped, char).replace(escaped.lower(), char)
    return uri
