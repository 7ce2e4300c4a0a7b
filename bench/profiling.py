"""Optional sampling of the Teller process with py-spy during the measured run, summarised as text.

py-spy is not a dependency of Teller; install it into the venv for a profile:
`uv pip install --python .venv/bin/python py-spy`. The summary lists samples per thread and the functions
with the most samples, by self time (the frame on top of the stack) and inclusive time (anywhere in it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_SHORTEN = (re.compile(r"^.*/site-packages/"), re.compile(r"^.*/lib/python3\.\d+/"))
TOP = 30

# Where a sample of the event-loop thread goes: the innermost frame that matches one of these.
TELLER_BUCKETS: tuple[tuple[str, str], ...] = (
    ("encode_line", "spool: JSON-encode + CRC the hit's rows"),
    ("Spool.append", "spool: append"),
    ("Spool.has_room", "spool: append"),
    ("Spool.committed", "spool: wait for the commit (future)"),
    ("classify_referrer", "ingest: referrer + campaign"),
    ("clean_url", "ingest: referrer + campaign"),
    ("VisitTracker", "ingest: visit stitching + visit rows"),
    ("parse_user_agent", "ingest: user agent, bots, client hints"),
    ("bot_reason", "ingest: user agent, bots, client hints"),
    ("is_referrer_spam", "ingest: user agent, bots, client hints"),
    ("hints_from", "ingest: user agent, bots, client hints"),
    ("refine", "ingest: user agent, bots, client hints"),
    ("device_detail", "ingest: user agent, bots, client hints"),
    ("GeoLocator", "ingest: geo"),
    ("ClientAddress.masked", "ingest: address masking"),
    ("visitor_id", "ingest: visitor id"),
    ("SiteCache.get", "ingest: site cache"),
    ("SaltBook", "ingest: cookieless salt"),
    ("Pipeline.handle", "ingest: rest of Pipeline.handle"),
    ("_read_params", "collector: parse the query string"),
    ("TrackingEndpoint.handle", "collector: rest of the endpoint (request object, headers dict, response)"),
    ("MaskClientAddress.__call__", "collector: address middleware"),
    ("client_address", "collector: address middleware"),
)
FRAMEWORK_BUCKETS: tuple[tuple[str, str], ...] = (
    ("starlette/", "Starlette: middleware, routing, Response"),
    ("uvicorn/", "uvicorn (h11 or httptools): HTTP parsing and writing"),
    ("h11/", "uvicorn (h11 or httptools): HTTP parsing and writing"),
    ("asyncio/", "asyncio (Python part): event loop, sockets, callbacks"),
    ("selectors.py", "asyncio (Python part): event loop, sockets, callbacks"),
)


def py_spy_binary() -> str:
    local = Path(sys.executable).parent / "py-spy"
    found = str(local) if local.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: uv pip install --python .venv/bin/python py-spy")
    return found


def function_name(frame: str) -> str:
    """'handle (/work/main/ingest/pipeline.py:123)' -> 'handle (ingest/pipeline.py)'."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for pattern in _SHORTEN:
        path = pattern.sub("", path)
    repo = str(Path(__file__).resolve().parent.parent) + "/"
    return f"{match['function']} ({path.removeprefix(repo)})"


def parse_stacks(text: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _ranking(title: str, counter: Counter[str], total: int, top: int) -> list[str]:
    lines = ["", f"  top {top} functions, {title}:"]
    lines += [f"    {count:6d} {100 * count / total:5.1f}%  {name}" for name, count in counter.most_common(top)]
    return lines


def _thread_section(thread: str, stacks: list[tuple[list[str], int]], top: int) -> list[str]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        names = [function_name(frame) for frame in frames[1:]]
        if names:
            own[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
    total = sum(count for _, count in stacks) or 1
    return ["", f"{thread}: {total} samples", *_ranking("self (top of stack)", own, total, top),
            *_ranking("inclusive (anywhere in the stack)", inclusive, total, top)]


def bucket(frames: list[str]) -> str:
    for frame in reversed(frames[1:]):  # innermost first
        name = function_name(frame)
        label = next((label for marker, label in TELLER_BUCKETS + FRAMEWORK_BUCKETS if marker in name), None)
        if label is not None:
            return label
    return "other"


def buckets(stacks: list[tuple[list[str], int]]) -> list[str]:
    counts: Counter[str] = Counter()
    for frames, count in stacks:
        counts[bucket(frames)] += count
    total = sum(counts.values()) or 1
    lines = ["", "  where the event-loop thread's samples go (innermost matching frame):"]
    lines += [f"    {count:6d} {100 * count / total:5.1f}%  {label}" for label, count in counts.most_common()]
    return lines


def summarise(stacks: list[tuple[list[str], int]], threads_shown: int = 3) -> str:
    """Samples per thread, then the busiest threads' functions by self and inclusive samples."""
    by_thread: dict[str, list[tuple[list[str], int]]] = {}
    for frames, count in stacks:
        by_thread.setdefault(frames[0], []).append((frames, count))
    totals = Counter({thread: sum(count for _, count in items) for thread, items in by_thread.items()})
    total = sum(totals.values()) or 1
    lines = [f"{total} samples at 100 Hz (threads waiting in a system call count as idle and are left out)", "",
             "samples per thread:"]
    lines += [f"  {count:6d} {100 * count / total:5.1f}%  {thread}" for thread, count in totals.most_common()]
    for thread, _ in totals.most_common(threads_shown):
        lines += _thread_section(thread, by_thread[thread], TOP)
        if thread.endswith("MainThread"):
            lines += buckets(by_thread[thread])
    return "\n".join(lines) + "\n"


class Profiler:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.raw = root / "teller.pyspy.txt"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, pid: int, seconds: float) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        command = [py_spy_binary(), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
                   "--rate", "100", "--threads", "--format", "raw", "--output", str(self.raw)]
        with (self.root / "py-spy.log").open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def finish(self, timeout: float = 60) -> None:
        if self.process is not None:
            self.process.wait(timeout=timeout)
            self.process = None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def report(self, destination: Path) -> None:
        if not self.raw.exists():
            print(f"py-spy wrote no profile; see {self.root / 'py-spy.log'}")
            return
        text = summarise(parse_stacks(self.raw.read_text(encoding="utf-8", errors="replace")))
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        print(f"\npy-spy profile of Teller during the measured run ({destination}):\n{text}")
