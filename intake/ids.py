"""Time-sortable ids for messages, so ordering by id is ordering by arrival."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id() -> str:
    """A 20-character id: 48 bits of milliseconds, then 50 random bits (Crockford base32)."""
    millis = int(time.time() * 1000)
    value = (millis << 50) | secrets.randbits(50)
    chars = []
    for _ in range(20):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
