"""Request authentication: HMAC-SHA256 over the raw body, compared in constant time.

The signature is computed over the bytes received, never over re-encoded JSON: a parser that
normalises numbers or key order would make a valid signature fail, or a forged body pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Final

SHA256_PREFIX: Final = "sha256="


def _digest(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def valid_hex_signature(header: str | None, secret: str, body: bytes) -> bool:
    """``sha256=<hex>`` as Meta sends in ``X-Hub-Signature-256`` (and the generic webhook in
    ``X-Brandpulse-Signature``). Another algorithm prefix (Meta's legacy ``sha1=``) fails."""
    if header is None or not header.startswith(SHA256_PREFIX):
        return False
    try:
        received = bytes.fromhex(header[len(SHA256_PREFIX) :])
    except ValueError:
        return False
    return hmac.compare_digest(received, _digest(secret, body))


def valid_base64_signature(header: str | None, secret: str, body: bytes) -> bool:
    """Base64 of the digest, as Shopify sends in ``X-Shopify-Hmac-Sha256``."""
    if header is None:
        return False
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(received, _digest(secret, body))


def hex_signature(secret: str, body: bytes) -> str:
    """The header value a sender of the generic webhook computes (and the tests)."""
    return SHA256_PREFIX + _digest(secret, body).hex()


def base64_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(_digest(secret, body)).decode()


def valid_token(received: str | None, expected: str) -> bool:
    """The verify token of Meta's subscription handshake, compared in constant time."""
    return received is not None and hmac.compare_digest(received.encode(), expected.encode())
