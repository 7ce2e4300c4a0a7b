"""Login throttling: after repeated failures an account, or a (masked) client address, waits before the next try.

Failures are counted per account and per client address as the request carries it, which the address middleware
has already masked (collector/client_ip.py): the full address is never seen, stored or logged here. A masked
address stands for many people (a /16 by default), so it tolerates more failures than one account does.
Past the limit each further failure doubles the wait, up to an hour; a success clears the account's count.

The state lives in memory, per process: a restart forgets it, and behind a load balancer each node counts
on its own (which multiplies an attacker's budget by the number of nodes, not more).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_WAIT_SECONDS = 30.0
LONGEST_WAIT_SECONDS = 3600.0
FORGET_AFTER_SECONDS = 15 * 60.0  # failures this old, with no wait pending, no longer count
MAX_ENTRIES = 100_000  # a flood of made-up account names must not grow memory without bound


@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    locked_until: float


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(account: str, address: str) -> list[str]:
        return [f"account:{account.strip().lower()}", f"address:{address}"]

    @staticmethod
    def _limit(key: str) -> int:
        return ACCOUNT_LIMIT if key.startswith("account:") else ADDRESS_LIMIT

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self._entries.get(key)
        if entry is not None and entry.locked_until <= now and now - entry.last > FORGET_AFTER_SECONDS:
            del self._entries[key]
            return None
        return entry

    def wait_seconds(self, keys: list[str]) -> float:
        """How long these keys must wait before the next attempt (0: try now)."""
        now = self.clock()
        with self._lock:
            entries = [self._current(key, now) for key in keys]
        return max([0.0, *(entry.locked_until - now for entry in entries if entry is not None)])

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                entry = self._current(key, now) or _Failures(0, now, 0.0)
                entry.count += 1
                entry.last = now
                over = entry.count - self._limit(key)
                if over >= 0:
                    entry.locked_until = now + min(FIRST_WAIT_SECONDS * 2 ** min(over, 20), LONGEST_WAIT_SECONDS)
                self._entries.pop(key, None)
                self._entries[key] = entry  # most recent last, so the oldest are dropped first
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
