"""Whole numbers from untrusted text. str.isdigit() accepts "²" and other digits int() refuses, so a plain
`text.isdigit() and int(text)` turns junk into an exception; this does not."""

from __future__ import annotations

MAX_DIGITS = 18


def whole_number(text: str, limit: int = 2**63 - 1) -> int | None:
    """The value of ASCII digits up to `limit`, else None ("+1", "1e3", "²", "" and huge values included)."""
    if not text or len(text) > MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= limit else None
