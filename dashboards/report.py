"""One site's dashboard for one range, as plain data: the JSON API returns it, the HTML page draws it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dashboards.periods import parse_range
from dashboards.queries import StatsQueries
from ingest.sites import Site


def site_summary(queries: StatsQueries, site: Site, query: Mapping[str, str],
                 now: datetime | None = None) -> dict[str, Any]:
    """Raises PeriodError for a bad period; everything else is data."""
    date_range = parse_range(query, site.zone, now or datetime.now(UTC))
    totals = queries.totals(site, date_range)
    return {
        "site": site.as_json(),
        "range": {"period": date_range.period, "from": date_range.first.isoformat(),
                  "to": date_range.last.isoformat(), "timezone": site.timezone},
        # "rollups" when the range reaches back past the raw retention (ingest/rollups.py says what differs).
        "source": "rollups" if queries.reads_rollups(site, date_range, now) else "raw",
        "totals": {"visitors": totals.visitors, "visits": totals.visits, "pageviews": totals.pageviews,
                   "bounce_rate": totals.bounce_rate, "visit_duration": totals.visit_duration},
        "current_visitors": queries.current_visitors(site, now),
        "timeseries": [{"date": point.day.isoformat(), "visitors": point.visitors, "visits": point.visits,
                        "pageviews": point.pageviews} for point in queries.timeseries(site, date_range)],
        "top_pages": [{"page": row.page, "visitors": row.visitors, "pageviews": row.pageviews}
                      for row in queries.top_pages(site, date_range)],
        "dropped_hits": queries.dropped(site, date_range),
    }
