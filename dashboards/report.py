"""One site's dashboard for one range, as plain data: the JSON API returns it, the HTML page draws it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dashboards.filters import Filter, parse_filters
from dashboards.periods import DateRange, comparison_range, parse_range
from dashboards.queries import StatsQueries, Totals
from ingest.sites import Site


def change(current: Totals, previous: Totals) -> dict[str, float | None]:
    """Percent change per metric; None when the previous value was 0 (no meaningful percentage)."""
    now, then = current.as_json(), previous.as_json()
    return {name: round(100 * (now[name] - then[name]) / then[name], 1) if then[name] else None for name in now}


def _range_json(date_range: DateRange) -> dict[str, str]:
    return {"period": date_range.period, "from": date_range.first.isoformat(), "to": date_range.last.isoformat(),
            "timezone": str(date_range.zone)}


def site_summary(queries: StatsQueries, site: Site, query: Mapping[str, str], now: datetime | None = None,
                 filter_texts: list[str] | None = None, top_pages: bool = True) -> dict[str, Any]:
    """Raises PeriodError or FilterError for a bad parameter; everything else is data.

    Query: period (and from/to), interval (hour, day, week, month), compare (previous, year); filters come as
    `filter_texts` because a URL may repeat them. The dashboard page leaves out `top_pages` (its Pages panel
    is the same report with filters)."""
    date_range = parse_range(query, site.zone, now or datetime.now(UTC))
    filters: list[Filter] = parse_filters(filter_texts or [])
    interval = query.get("interval", "day")
    totals, points = queries.overview(site, date_range, interval, filters)
    summary: dict[str, Any] = {
        "site": site.as_json(),
        "range": _range_json(date_range),
        # "rollups" when the range reaches back past the raw retention (ingest/rollups.py says what differs).
        "source": "rollups" if queries.reads_rollups(site, date_range, now) else "raw",
        # {"sampled": true, "factor": n}: counts are estimated from 1 in n visitors (dashboards/sampling.py).
        "sample": queries.sample(site, date_range).as_json(),
        "filters": [item.as_text() for item in filters],
        "interval": interval,
        "totals": totals.as_json(),
        "current_visitors": queries.current_visitors(site, now),
        "timeseries": [{"date": point.label, "visitors": point.visitors, "visits": point.visits,
                        "pageviews": point.pageviews}
                       for point in points],
        "dropped_hits": queries.dropped(site, date_range),
    }
    if top_pages:
        summary["top_pages"] = [{"page": row.page, "visitors": row.visitors, "pageviews": row.pageviews}
                                for row in queries.top_pages(site, date_range)]
    compare = query.get("compare", "")
    if compare:
        earlier = comparison_range(date_range, compare)
        previous = queries.totals(site, earlier, filters)
        summary["comparison"] = {"range": _range_json(earlier), "totals": previous.as_json(),
                                 "change": change(totals, previous)}
    return summary
