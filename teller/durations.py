"""Periods as people write them ("400d", "13mo", "30m") turned into whole days or seconds."""

from __future__ import annotations

import re

DAY = 86400
# Months and years are the shortest calendar ones: a privacy policy promises how long data is kept at most
# ("deleted after 13 months"), so rounding must never make a period longer than it says.
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY, "mo": 28 * DAY, "y": 365 * DAY}
_PATTERN = re.compile(r"^\s*(\d+)\s*(s|mo|m|h|d|w|y)\s*$")
MAX_RETENTION_DAYS = 65535  # the UInt16 retention column
MAX_COOKIE_SECONDS = 400 * DAY  # browsers keep no cookie longer than 400 days


def _seconds(text: str, units: tuple[str, ...], example: str) -> int:
    match = _PATTERN.match(text.lower())
    if not match or match.group(2) not in units:
        raise ValueError(f"a period such as {example}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_days(text: str) -> int:
    """A retention period such as "30d", "6w", "13mo" or "2y" in whole days."""
    days = _seconds(text, ("d", "w", "mo", "y"), '"30d", "6w", "13mo" or "2y"') // DAY
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"between 1 day and {MAX_RETENTION_DAYS} days")
    return days


def parse_seconds(text: str) -> int:
    """A cookie lifetime such as "30m", "14d" or "6mo" in seconds."""
    seconds = _seconds(text, ("s", "m", "h", "d", "w", "mo", "y"), '"30m", "12h", "14d" or "6mo"')
    if not 60 <= seconds <= MAX_COOKIE_SECONDS:
        raise ValueError("between 1 minute and 400 days")
    return seconds
