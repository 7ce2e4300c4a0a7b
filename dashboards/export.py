"""Report rows as CSV: what a marketing team pastes into a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection): prefix it.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """Rows (dicts with the same keys) as CSV with a header line; empty when there are none."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return out.getvalue()
