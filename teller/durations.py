"""Retention periods as people write them ("400d", "13mo", "2y") turned into whole days."""

from __future__ import annotations

import re

# Months and years are calendar approximations: a retention period only needs to be at least what the
# privacy policy promises, and ClickHouse TTLs count days.
_UNIT_DAYS = {"d": 1, "w": 7, "mo": 31, "y": 366}
_PATTERN = re.compile(r"^\s*(\d+)\s*(d|w|mo|y)\s*$")
MAX_RETENTION_DAYS = 65535  # the UInt16 retention column


_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mo": 31 * 86400, "y": 366 * 86400}
_SECONDS_PATTERN = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w|mo|y)\s*$")
MAX_COOKIE_SECONDS = 400 * 86400  # browsers keep no cookie longer than 400 days


def parse_seconds(text: str) -> int:
    """A cookie lifetime such as "30m", "14d" or "13mo" in seconds."""
    match = _SECONDS_PATTERN.match(text.lower())
    if not match:
        raise ValueError('a period such as "30m", "12h", "14d" or "13mo"')
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if not 60 <= seconds <= MAX_COOKIE_SECONDS:
        raise ValueError("between 1 minute and 400 days")
    return seconds


def parse_days(text: str) -> int:
    match = _PATTERN.match(text.lower())
    if not match:
        raise ValueError('a period such as "30d", "6w", "13mo" or "2y"')
    days = int(match.group(1)) * _UNIT_DAYS[match.group(2)]
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"between 1 day and {MAX_RETENTION_DAYS} days")
    return days
