"""The write-ahead spool: a hit is acknowledged only once its rows are on local disk.

Rows are appended as lines to the open segment file; a committer thread writes what is pending and fsyncs at
most every `commit_interval` seconds (group commit), then wakes the requests waiting for it. A segment is
sealed (renamed *.seg) after `segment_seconds` or `segment_bytes`; the shipper moves sealed segments into
ClickHouse and deletes them only after ClickHouse confirmed them. At start-up an open segment left by a crash
is cut at its last complete line and sealed, so every acknowledged hit is shipped.

Line format: one line per hit, `<crc32 hex> <row>[\\x1e<row>...]\\n`, where each row is a one-letter table
code followed by the row as a JSON array in the table's column order (ClickHouse's JSONCompactEachRow), so the
shipper hands the bytes to ClickHouse's own parser. JSON never contains a raw 0x1E byte (control characters are
escaped), so the separator is unambiguous. Only masked, enriched rows are written here: the spool never holds
a full client address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ingest.tables import TABLES

log = logging.getLogger(__name__)

OPEN_SUFFIX = ".open"
SEALED_SUFFIX = ".seg"
ROW_SEPARATOR = b"\x1e"
Record = tuple[str, Sequence[Any]]  # (table code, values in column order)
EncodedRow = tuple[str, bytes]  # (table code, JSON array)


class SpoolFull(Exception):
    """The spool cannot take a hit: its disk budget is used up, it is closed, or its disk failed."""


def _json_value(value: Any) -> Any:
    # DateTime columns take Unix seconds; Date columns take ISO text.
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot spool a {type(value).__name__}")


_encode = json.JSONEncoder(separators=(",", ":"), default=_json_value).encode


def encode_line(records: Sequence[Record]) -> bytes:
    payload = ROW_SEPARATOR.join(code.encode() + _encode(values).encode() for code, values in records)
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def segment_header() -> bytes:
    """The first line of every segment: the columns its rows are written in, per table code. Segments left in
    the spool across an upgrade that added columns are then still shipped, with the columns they have."""
    return b"#" + json.dumps({code: list(spec.columns) for code, spec in TABLES.items()}).encode() + b"\n"


def decode_lines(data: bytes) -> tuple[list[EncodedRow], int, dict[str, list[str]]]:
    """The rows of every complete, intact line, the byte length those lines cover, and the segment's columns
    (the current ones for a segment without a header)."""
    rows: list[EncodedRow] = []
    good = 0
    columns = {code: list(spec.columns) for code, spec in TABLES.items()}
    lines = data.splitlines(keepends=True)
    if lines and lines[0].startswith(b"#") and lines[0].endswith(b"\n"):
        try:
            columns = json.loads(lines[0][1:])
        except ValueError:
            return rows, 0, columns
        good = len(lines[0])
        lines = lines[1:]
    for line in lines:
        if not line.endswith(b"\n") or len(line) < 10 or line[8:9] != b" ":
            break
        payload = line[9:-1]
        try:
            if int(line[:8], 16) != zlib.crc32(payload):
                break
        except ValueError:
            break
        rows.extend((part[:1].decode(), part[1:]) for part in payload.split(ROW_SEPARATOR))
        good += len(line)
    return rows, good, columns


@dataclass(frozen=True, slots=True)
class SpoolStats:
    segments: int
    bytes: int
    oldest_age_seconds: float


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(self, directory: Path, budget_bytes: int, commit_interval: float = 0.02,
                 segment_seconds: float = 1.0, segment_bytes: int = 8 << 20) -> None:
        self.directory = directory
        self.budget_bytes = budget_bytes
        self.commit_interval = commit_interval
        self.segment_seconds = segment_seconds
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._cond = threading.Condition()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._appended = 0  # ticket of the newest appended line
        self._committed = 0  # tickets up to here are on disk
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._stopping = False
        self._broken = ""  # why the committer stopped, when the disk failed it
        self._seal_requested = False
        self._sealed_listeners: list[threading.Event] = []
        self._sequence = self._recover()
        self._run_id = secrets.token_hex(4)
        self._bytes_on_disk = sum(path.stat().st_size for path in self.sealed_segments())
        self._file: Any = None
        self._file_bytes = 0
        self._opened_at = 0.0
        self._thread = threading.Thread(target=self._run, name="teller-spool", daemon=True)
        self._thread.start()

    # Recovery ---------------------------------------------------------------------------------------------

    def _recover(self) -> int:
        """Seal segments a crash left open, cut at their last intact line; returns the next sequence number."""
        for path in sorted(self.directory.iterdir()):
            if path.suffix not in (OPEN_SUFFIX, SEALED_SUFFIX):
                continue
            if path.suffix == OPEN_SUFFIX:
                data = path.read_bytes()
                rows, good, _ = decode_lines(data)
                if not rows:
                    path.unlink()
                    continue
                if good < len(data):
                    log.warning("spool segment %s: dropped %d bytes of a line that was never acknowledged",
                                path.name, len(data) - good)
                    with path.open("r+b") as handle:
                        handle.truncate(good)
                        handle.flush()
                        os.fsync(handle.fileno())
                path.rename(path.with_suffix(SEALED_SUFFIX))
        _fsync_directory(self.directory)
        return 0

    # Producers --------------------------------------------------------------------------------------------

    def append(self, records: Sequence[Record]) -> int:
        """Queue one hit's records; returns a ticket to wait on. Raises SpoolFull past the disk budget."""
        line = encode_line(records)
        with self._cond:
            if self._stopping or self._broken:
                raise SpoolFull(self._broken or "the spool is closed: Teller is shutting down")
            if self._bytes_on_disk + self._file_bytes + self._pending_bytes + len(line) > self.budget_bytes:
                raise SpoolFull(f"spool budget of {self.budget_bytes} bytes is used up")
            self._pending.append(line)
            self._pending_bytes += len(line)
            self._appended += 1
            if len(self._pending) == 1:
                self._cond.notify_all()  # the committer, not another waiter on this condition, must wake
            return self._appended

    def has_room(self, margin: int = 64 << 10) -> bool:
        with self._cond:
            if self._stopping or self._broken:
                return False
            return self._bytes_on_disk + self._file_bytes + self._pending_bytes + margin <= self.budget_bytes

    @property
    def broken(self) -> str:
        return self._broken

    async def committed(self, ticket: int) -> None:
        """Return once the line with this ticket is fsynced; raises SpoolFull if the disk failed it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if ticket <= self._committed:
                return
            if self._broken:
                raise SpoolFull(self._broken)
            self._waiters.append((ticket, loop, future))
        await future

    def wait_committed(self, ticket: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._committed < ticket:
                if self._broken:
                    raise SpoolFull(self._broken)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"spool line {ticket} not committed after {timeout} s")
                self._cond.wait(remaining)

    def seal_now(self) -> None:
        """Commit what is pending and seal the open segment (the demo loader and tests; close() does it at shutdown)."""
        if not self._thread.is_alive():
            return  # closed: close() already committed and sealed everything
        with self._cond:
            ticket = self._appended
            self._seal_requested = True
            self._cond.notify_all()
        self.wait_committed(ticket)
        with self._cond:
            while self._seal_requested:
                self._cond.wait(1)

    # Consumers (the shipper) ------------------------------------------------------------------------------

    def sealed_segments(self) -> list[Path]:
        return sorted(self.directory.glob("*" + SEALED_SUFFIX))

    def add_sealed_listener(self, event: threading.Event) -> None:
        self._sealed_listeners.append(event)

    def remove_segment(self, path: Path) -> None:
        size = path.stat().st_size
        path.unlink()
        with self._cond:
            self._bytes_on_disk -= size

    def stats(self) -> SpoolStats:
        segments = self.sealed_segments()
        oldest = 0.0
        if segments:
            try:
                oldest = max(0.0, time.time() - segments[0].stat().st_mtime)
            except FileNotFoundError:
                oldest = 0.0
        with self._cond:
            open_bytes = self._file_bytes + self._pending_bytes
            if self._file is not None:
                oldest = max(oldest, time.monotonic() - self._opened_at)
            return SpoolStats(len(segments) + (1 if self._file is not None else 0),
                              self._bytes_on_disk + open_bytes, oldest)

    # The committer thread ---------------------------------------------------------------------------------

    def _open_segment(self) -> None:
        # The name is the shipment's deduplication token, so it must never repeat, not even after a restart with
        # an empty spool: nanoseconds since the epoch (names sort by age) plus this run's random id.
        self._sequence += 1
        path = self.directory / f"{time.time_ns():020d}-{self._run_id}-{self._sequence:06d}{OPEN_SUFFIX}"
        self._file = path.open("ab")
        header = segment_header()
        self._file.write(header)  # fsynced with the segment's first commit
        self._file_bytes = len(header)
        self._opened_at = time.monotonic()
        _fsync_directory(self.directory)

    def _seal(self) -> None:
        if self._file is None:
            return
        path = Path(self._file.name)
        self._file.close()
        self._file = None
        os.replace(path, path.with_suffix(SEALED_SUFFIX))
        _fsync_directory(self.directory)
        with self._cond:
            self._bytes_on_disk += self._file_bytes
            self._file_bytes = 0
        for listener in self._sealed_listeners:
            listener.set()

    def _run(self) -> None:
        try:
            self._commit_loop()
        except Exception as error:
            # A failing disk (full, read-only, I/O error): nothing more can be acknowledged. Every waiting request
            # and every later one gets SpoolFull (HTTP 503) instead of waiting forever; /readyz reports it.
            log.exception("the spool cannot write to %s; Teller answers 503 until it is restarted", self.directory)
            with self._cond:
                self._broken = f"the spool cannot write to disk ({type(error).__name__}: {error})"
                waiters, self._waiters = self._waiters, []
                self._cond.notify_all()
            for _, loop, future in waiters:
                with contextlib.suppress(RuntimeError):  # the loop may be closed already
                    loop.call_soon_threadsafe(_fail, future, SpoolFull(self._broken))

    def _commit_loop(self) -> None:
        last_commit = 0.0
        while True:
            with self._cond:
                while not self._pending and not self._stopping and not self._seal_requested:
                    if self._file is not None and time.monotonic() - self._opened_at >= self.segment_seconds:
                        break
                    timeout = self.segment_seconds if self._file is None else max(
                        0.001, self.segment_seconds - (time.monotonic() - self._opened_at))
                    self._cond.wait(timeout)
            # Group commit: let more lines gather until commit_interval has passed since the last fsync.
            delay = self.commit_interval - (time.monotonic() - last_commit)
            if delay > 0 and not self._stopping:
                time.sleep(delay)
            with self._cond:
                lines, self._pending, self._pending_bytes = self._pending, [], 0
                ticket = self._appended
                seal_requested = self._seal_requested
                stopping = self._stopping
            if lines:
                if self._file is None:
                    self._open_segment()
                data = b"".join(lines)
                self._file.write(data)
                self._file.flush()
                os.fsync(self._file.fileno())
                last_commit = time.monotonic()
                with self._cond:
                    self._file_bytes += len(data)
            self._mark_committed(ticket)
            if self._file is not None and (seal_requested or stopping
                                           or self._file_bytes >= self.segment_bytes
                                           or time.monotonic() - self._opened_at >= self.segment_seconds):
                self._seal()
            with self._cond:
                if seal_requested:
                    self._seal_requested = False
                    self._cond.notify_all()
                if stopping and not self._pending:
                    return

    def _mark_committed(self, ticket: int) -> None:
        with self._cond:
            self._committed = max(self._committed, ticket)
            ready = [waiter for waiter in self._waiters if waiter[0] <= self._committed]
            self._waiters = [waiter for waiter in self._waiters if waiter[0] > self._committed]
            self._cond.notify_all()
        # One wake-up per event loop and commit, not one per request: each wake-up is a write to the loop's
        # self-pipe, which would otherwise cost more than the fsync itself under load.
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, future in ready:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            loop.call_soon_threadsafe(_resolve, futures)

    def close(self) -> None:
        """Commit and seal everything pending; the shipper ships it now or at the next start."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()


def _fail(future: asyncio.Future[None], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
