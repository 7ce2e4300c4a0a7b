"""The first rows of a rollup breakdown, merging the visitor states of few values instead of all.

Over a long range, a rollup breakdown's cost is merging each value's visitor states (one `uniqCombined64` state
per value and day or month): the Pages panel of 90 days merges about 420,000 of them. Its other columns are
plain sums, cheap to add up. So the first rows are found in two steps:

1. the values with the most visits (or page views), from the sums alone;
2. the visitor states of those candidates only.

Ordered by visitors, the candidates are the values with the most visits, and the result is proven whole when
it can be: a value's visitors never exceed its visits (each visitor counted had a visit with that value, and a
page's visits are the distinct visits that viewed it), so a value left out, with at most as many visits as the
last candidate, has fewer visitors than the rows kept when they all have more visitors than that. When they
do not (visitors far fewer than visits), every value is merged as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Rows = list[tuple[Any, ...]]
RunQuery = Callable[[str, dict[str, Any]], Rows]

# Candidates per row wanted: the visitors of the first rows are well above the visits of the 2n-th value on
# real sites (the benchmark site's pages over 90 days: 97,370 visitors for the 10th, 48,928 visits for the 20th).
CANDIDATES_PER_ROW = 2
EXTRA_CANDIDATES = 10
# A visitor count is an estimate (uniqCombined64: within about 1% for large counts, exact for small ones). The
# rows kept must beat a left-out value's visits by this factor, so that no estimate can reorder them.
ESTIMATE_MARGIN = 1.02


def first_by_visitors(run_query: RunQuery, metrics: str, source: str, parameters: dict[str, Any],
                      wanted: int) -> Rows:
    """The first `wanted` rows of `SELECT value, {metrics} FROM {source} GROUP BY value ORDER BY visitors DESC,
    visits DESC, value` (metrics name `visitors` and `visits`, in that order after value)."""
    every_value = (f"SELECT value, {metrics} FROM {source} GROUP BY value "  # noqa: S608 - built from constants
                   "ORDER BY visitors DESC, visits DESC, value LIMIT {wanted:UInt32}")
    count = CANDIDATES_PER_ROW * wanted + EXTRA_CANDIDATES
    candidates = run_query(
        f"SELECT value, sum(visits) AS visits FROM {source} GROUP BY value "  # noqa: S608 - built from constants
        "ORDER BY visits DESC, value LIMIT {candidates:UInt32}", parameters | {"candidates": count})
    if len(candidates) < count:  # every value is a candidate
        return run_query(every_value, parameters | {"wanted": wanted})
    most_visits_left_out = int(candidates[-1][1])
    rows = run_query(
        f"SELECT value, {metrics} FROM {source} WHERE value IN {{values:Array(String)}} "  # noqa: S608 - constants
        "GROUP BY value ORDER BY visitors DESC, visits DESC, value LIMIT {wanted:UInt32}",
        parameters | {"values": [value for value, _ in candidates], "wanted": wanted})
    if len(rows) == wanted and int(rows[-1][1]) > most_visits_left_out * ESTIMATE_MARGIN:
        return rows
    # Not proven: every value is merged. (Merging only the values left out was slower than merging all of them
    # on the benchmark site, 2.0 against 1.3 s for 12 months of pages: the granules read are about the same.)
    return run_query(every_value, parameters | {"wanted": wanted})


def first_by_views(run_query: RunQuery, source: str, parameters: dict[str, Any], wanted: int) -> Rows:
    """`(value, visitors, pageviews)` of the `wanted` values with the most page views (ties by value): the order
    comes from sums alone, so only those values' visitor states are merged."""
    first = run_query(
        f"SELECT value, sum(pageviews) AS views FROM {source} GROUP BY value "  # noqa: S608 - built from constants
        "ORDER BY views DESC, value LIMIT {wanted:UInt32}", parameters | {"wanted": wanted})
    if not first:
        return []
    visitors = dict(run_query(
        f"SELECT value, uniqCombined64Merge(visitors) FROM {source} "  # noqa: S608 - built from constants
        "WHERE value IN {values:Array(String)} GROUP BY value", parameters | {"values": [row[0] for row in first]}))
    return [(value, visitors.get(value, 0), views) for value, views in first]
