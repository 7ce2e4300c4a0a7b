"""The tracker Teller serves is built by collector/static/build.mjs (terser) from two readable sources: teller.js
(the core, teller.min.js, served at /teller.js) and teller-extra.js (teller-extra.min.js, at /teller-extra.js, which
the core loads only when a page needs it).

No Node needed: build.mjs writes the start of each source's sha256 into the preamble of its build, so an edit
without a rebuild fails here. The budget is a size check only: gzip -9 of teller.min.js under 3 KB.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parent.parent / "collector" / "static"
BUDGET = 3072  # bytes of teller.min.js after gzip -9; build.mjs checks the same budget
REBUILD = "run `npm ci && node build.mjs` in collector/static"


@pytest.mark.parametrize("name", ["teller", "teller-extra"])
def test_minified_tracker_is_built_from_the_current_source(name: str) -> None:
    built = (STATIC / f"{name}.min.js").read_bytes()
    assert built.isascii(), f"{name}.min.js has non-ASCII bytes; build.mjs sets ascii_only"
    match = re.match(rb"/\*! [^\n]*\bsha256:([0-9a-f]{16})\b[^\n]*\*/\n", built)
    assert match, f"{name}.min.js has no sha256 preamble: {REBUILD}"
    source = hashlib.sha256((STATIC / f"{name}.js").read_bytes()).hexdigest()
    assert match.group(1).decode() == source[:16], f"{name}.min.js is older than {name}.js: {REBUILD}"


def test_minified_tracker_is_under_3_kb_gzipped() -> None:
    size = len(gzip.compress((STATIC / "teller.min.js").read_bytes(), compresslevel=9))
    assert size < BUDGET, f"teller.min.js is {size} bytes gzipped; the budget is under {BUDGET}"
