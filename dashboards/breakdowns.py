"""Breakdown reports: one dimension's values with their metrics, for a range and a set of filters.

Visit dimensions (sources, locations, devices, entry and exit pages) count visitors, visits, pageviews,
bounce rate and visit duration over the visits that started in the range. Action dimensions (pages, titles,
outlinks, downloads, site searches, events, goals, hour of day) count visitors, visits and actions; pages
add their mean load time, goals their conversion rate (converting visitors / all visitors, under the same
filters) and revenue. Ranges reaching back past the raw retention are read from rollups, for the dimensions
rollups keep and without filters (the rollups have no rows to filter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboards.filters import DIMENSIONS, Dimension, Filter, FilterError, kind_condition, where, where_actions
from dashboards.periods import DateRange
from dashboards.queries import StatsQueries
from dashboards.rollup_top import first_by_visitors
from dashboards.sampling import EXACT, Sample
from ingest.rollups import DIMENSIONS as ROLLUP_DIMENSIONS
from ingest.sites import Site

MAX_LIMIT = 1000
# The breakdowns rollups keep (they use the report's dimension names; "" is their day totals).
FROM_ROLLUPS = tuple(name for name in ROLLUP_DIMENSIONS if name)


@dataclass(frozen=True, slots=True)
class Breakdown:
    dimension: str
    source: str  # "raw" or "rollups"
    rows: list[dict[str, Any]]
    sample: Sample = EXACT


def _rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


# What a visit report counts per value, over `sessions` rows (each visit's versions sum to one by sign).
_VISIT_METRICS = ("uniq(visitor_id) AS visitors, sum(sign) AS visits, sum(sign * pageviews), "
                  "sum(sign * is_bounce), sum(sign * duration)")


def _visit_source(filters: list[Filter], sample: Sample, by_exit_page: bool) -> tuple[str, dict[str, str]]:
    """`FROM sessions … WHERE …` of a visit report in the range, with its filters, and their values. A visit's
    exit page changes with each page view, so only its latest version may count for it: FINAL when the report
    or a filter is about exit pages."""
    conditions, values = where(filters, "sessions", sample=sample)
    final = by_exit_page or any(item.dimension.name == "exit_page" for item in filters)
    source = (f"FROM sessions{' FINAL' if final else ''}{sample.clause} WHERE site_id = {{site:UInt32}} "
              "AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')}"
              f"{' AND sign = 1' if final else ''}{conditions}")
    return source, values


def _visit_row(sample: Sample, value: str, visitors: int, visits: int, pageviews: int, bounces: int,
               duration: int) -> dict[str, Any]:
    return {"value": value, "visitors": sample.count(visitors), "visits": sample.count(visits),
            "pageviews": sample.count(pageviews), "bounce_rate": _rate(int(bounces), int(visits)),
            "visit_duration": round(int(duration) / int(visits), 1) if visits else 0.0}


def _panel_parameters(site: Site, date_range: DateRange, limit: int) -> dict[str, Any]:
    return {"site": site.site_id, "start": date_range.start_utc, "end": date_range.end_utc,
            "limit": min(limit, MAX_LIMIT)}


def _grouping_sets(targets: list[Dimension]) -> tuple[str, str, str]:
    """The `dimension_index` and `value` expressions and the GROUP BY clause of one query that groups its rows
    by each target's expression in a grouping set of its own. Each result row belongs to one set, and
    GROUPING(x) = 0 names the set's expression (SQL standard)."""
    *first, last = targets
    which = "multiIf(" + "".join(f"grouping({target.expression}) = 0, {index}, "
                                 for index, target in enumerate(first)) + f"{len(first)})"
    value = "multiIf(" + "".join(f"dimension_index = {index}, toString({target.expression}), "
                                 for index, target in enumerate(first)) + f"toString({last.expression}))"
    return which, value, "GROUPING SETS (" + ", ".join(f"({target.expression})" for target in targets) + ")"


def _action_extras(kinds: tuple[str, ...]) -> str:
    """Load time (ms, -1 when not sent; ingest/migrations.py) belongs to page views and revenue to goals: a query
    about other kinds does not read those columns."""
    load_time = "avgIf(load_time_ms, name = 'pageview' AND load_time_ms >= 0)" if "pageview" in kinds else "0"
    revenue = "sum(revenue)" if "goal" in kinds else "0"
    return f"{load_time}, {revenue}"


def _action_row(kind: str, sample: Sample, with_visits: bool, value: str, visitors: int, visit_count: int,
                actions: int, load_time_ms: float, revenue: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"value": value, "visitors": sample.count(visitors)}
    if with_visits:
        row["visits"] = sample.count(visit_count)
    row["actions"] = sample.count(actions)
    if kind == "pageview":
        row["load_time_ms"] = round(float(load_time_ms)) if load_time_ms == load_time_ms else None  # NaN: none sent
    if kind == "goal":
        row["revenue"] = float(revenue) * sample.factor
    return row


def with_conversion_rates(rows: list[dict[str, Any]], all_visitors: int) -> list[dict[str, Any]]:
    """Goal rows with the share of the range's visitors (under the same filters) who converted."""
    return [row | {"conversion_rate": _rate(row["visitors"], all_visitors)} for row in rows]


class Breakdowns:
    def __init__(self, queries: StatsQueries) -> None:
        self.queries = queries

    def _query(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self.queries.query_rows(sql, parameters)

    def report(self, site: Site, date_range: DateRange, dimension: str, filters: list[Filter],
               limit: int = 100, offset: int = 0, with_visits: bool = True) -> Breakdown:
        """`with_visits=False` leaves out an action report's visits (the dashboard's panels do not show them,
        and counting them is a second unique count per row)."""
        if dimension not in DIMENSIONS:
            raise FilterError("{dimension!r} is not a dimension; one of {allowed}", dimension=dimension[:50],
                              allowed=", ".join(DIMENSIONS))
        if self.queries.reads_rollups(site, date_range):
            if filters or dimension not in FROM_ROLLUPS:
                raise FilterError(
                    "this range reaches back past the {days} days this site keeps visit details; only totals and "
                    "these breakdowns without filters are kept longer: {allowed}", days=site.retention_days,
                    allowed=", ".join(FROM_ROLLUPS))
            return Breakdown(dimension, "rollups", self._from_rollups(site, date_range, dimension, limit, offset))
        parameters: dict[str, Any] = {"site": site.site_id, "start": date_range.start_utc, "end": date_range.end_utc,
                                      "limit": min(limit, MAX_LIMIT), "offset": offset}
        target = DIMENSIONS[dimension]
        sample = self.queries.sample(site, date_range)
        if target.table == "sessions":
            rows = self._visits(target.expression, dimension, filters, parameters, sample)
        else:
            rows = self._actions(target.expression, target.kind, filters, parameters, sample, with_visits)
            if target.kind == "goal":
                rows = self._with_conversion_rates(rows, filters, parameters, sample)
        return Breakdown(dimension, "raw", rows, sample)

    def _visits(self, expression: str, dimension: str, filters: list[Filter],
                parameters: dict[str, Any], sample: Sample) -> list[dict[str, Any]]:
        source, values = _visit_source(filters, sample, dimension == "exit_page")
        sql = (f"SELECT {expression} AS value, {_VISIT_METRICS} {source} GROUP BY value HAVING visits > 0 "
               "ORDER BY visitors DESC, visits DESC, value LIMIT {limit:UInt32} OFFSET {offset:UInt32}")
        return [_visit_row(sample, *row) for row in self._query(sql, parameters | values)]

    def visit_reports(self, site: Site, date_range: DateRange, dimensions: list[str], filters: list[Filter],
                      limit: int) -> dict[str, Breakdown]:
        """Several visit breakdowns of raw rows from one pass over the visits (GROUPING SETS), each with the
        rows report() gives: the dashboard's panels. Not for exit_page, whose changing value needs FINAL."""
        targets = [DIMENSIONS[name] for name in dimensions]
        if len(targets) < 2 or any(target.table != "sessions" or target.name == "exit_page" for target in targets):
            raise ValueError("visit_reports groups two or more visit dimensions other than exit_page")
        sample = self.queries.sample(site, date_range)
        source, values = _visit_source(filters, sample, by_exit_page=False)
        which, value, grouping = _grouping_sets(targets)
        sql = (f"SELECT {which} AS dimension_index, {value} AS value, {_VISIT_METRICS} {source} "
               f"GROUP BY {grouping} HAVING visits > 0 "
               "ORDER BY dimension_index, visitors DESC, visits DESC, value LIMIT {limit:UInt32} BY dimension_index")
        rows = self._rows_per_target(sql, _panel_parameters(site, date_range, limit) | values, targets,
                                     lambda _, row: _visit_row(sample, *row))
        return {target.name: Breakdown(target.name, "raw", found, sample)
                for target, found in zip(targets, rows, strict=True)}

    def _rows_per_target(self, sql: str, parameters: dict[str, Any], targets: list[Dimension],
                         to_row: Callable[[Dimension, list[Any]], dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The rows of a query over several panels (each row starting with its panel's dimension_index), as
        dicts per target, in the targets' order."""
        rows: list[list[dict[str, Any]]] = [[] for _ in targets]
        for index, *row in self._query(sql, parameters):
            rows[int(index)].append(to_row(targets[int(index)], row))
        return rows

    def _actions(self, expression: str, kind: str, filters: list[Filter],
                 parameters: dict[str, Any], sample: Sample, with_visits: bool) -> list[dict[str, Any]]:
        conditions, values = where(filters, "events", kind, sample)
        visits = "uniq(visit_id)" if with_visits else "0"
        sql = (f"SELECT {expression} AS value, uniq(visitor_id) AS visitors, {visits}, "  # noqa: S608
               f"count() AS actions, {_action_extras((kind,))} FROM events{sample.clause} "
               "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} "
               f"AND {kind_condition(kind)}{conditions} GROUP BY value "
               "ORDER BY visitors DESC, actions DESC, value LIMIT {limit:UInt32} OFFSET {offset:UInt32}")
        return [_action_row(kind, sample, with_visits, *row) for row in self._query(sql, parameters | values)]

    def action_reports(self, site: Site, date_range: DateRange, dimensions: list[str], filters: list[Filter],
                       limit: int, conversion_rates: bool = True) -> dict[str, Breakdown]:
        """Several action breakdowns of raw rows from one pass over the events, each with the rows
        report(…, with_visits=False) gives: the dashboard's action panels. Either every dimension is of the same
        kind (page views by page and by hour: GROUPING SETS), or each is of a different kind (events, goals,
        outlinks, …: every row belongs to the one report of its kind). One query also means a filter's set of
        visits is built once instead of once per panel. `conversion_rates=False` leaves goals without theirs, for
        a caller that counts the range's visitors anyway (the dashboard page: with_conversion_rates)."""
        targets = [DIMENSIONS[name] for name in dimensions]
        kinds = tuple(dict.fromkeys(target.kind for target in targets))
        if not targets or any(target.table != "events" for target in targets) or \
                len(kinds) not in (1, len(targets)):
            raise ValueError("action_reports reads action dimensions all of one kind or each of its own kind")
        sample = self.queries.sample(site, date_range)
        conditions, values = where_actions(filters, kinds, sample)
        if len(kinds) == 1:
            which, value, grouping = _grouping_sets(targets)
        else:
            # The WHERE clause keeps only these kinds, so the last one needs no condition of its own.
            *first, last = targets
            which = "multiIf(" + "".join(f"{kind_condition(target.kind)}, {index}, "
                                         for index, target in enumerate(first)) + f"{len(first)})"
            value = "multiIf(" + "".join(f"{kind_condition(target.kind)}, toString({target.expression}), "
                                         for target in first) + f"toString({last.expression}))"
            grouping = "dimension_index, value"
        any_kind = " OR ".join(kind_condition(kind) for kind in kinds)
        sql = (f"SELECT {which} AS dimension_index, {value} AS value, uniq(visitor_id) AS visitors, 0, "  # noqa: S608
               f"count() AS actions, {_action_extras(kinds)} FROM events{sample.clause} "
               "WHERE site_id = {site:UInt32} AND ts >= {start:DateTime('UTC')} AND ts < {end:DateTime('UTC')} "
               f"AND ({any_kind}){conditions} GROUP BY {grouping} "
               "ORDER BY dimension_index, visitors DESC, actions DESC, value LIMIT {limit:UInt32} BY dimension_index")
        parameters = _panel_parameters(site, date_range, limit)
        rows = self._rows_per_target(sql, parameters | values, targets,
                                     lambda target, row: _action_row(target.kind, sample, False, *row))
        reports = {}
        for target, found in zip(targets, rows, strict=True):
            if target.kind == "goal" and conversion_rates:
                found = self._with_conversion_rates(found, filters, parameters, sample)
            reports[target.name] = Breakdown(target.name, "raw", found, sample)
        return reports

    def _with_conversion_rates(self, rows: list[dict[str, Any]], filters: list[Filter],
                               parameters: dict[str, Any], sample: Sample) -> list[dict[str, Any]]:
        conditions, values = where(filters, "sessions", sample=sample)
        sql = (f"SELECT uniq(visitor_id) FROM sessions{sample.clause} WHERE site_id = {{site:UInt32}} "  # noqa: S608
               "AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')}" + conditions)
        [(all_visitors,)] = self._query(sql, parameters | values)
        return with_conversion_rates(rows, sample.count(all_visitors))

    def _from_rollups(self, site: Site, date_range: DateRange, dimension: str, limit: int,
                      offset: int) -> list[dict[str, Any]]:
        source, merged = self.queries.rollup_source(site, date_range)
        limit = min(limit, MAX_LIMIT)
        parameters = {"site": site.site_id, "first": date_range.first, "last": date_range.last,
                      "dimension": dimension, **merged}
        metrics = ("uniqCombined64Merge(visitors) AS visitors, sum(visits) AS visits, sum(pageviews), sum(bounces), "
                   "sum(duration)")
        rows = first_by_visitors(self._query, metrics, source, parameters, limit + offset)[offset:]
        if dimension == "page":
            return [{"value": value, "visitors": int(visitors), "visits": int(visits), "actions": int(pageviews)}
                    for value, visitors, visits, pageviews, _, _ in rows]
        return [{"value": value, "visitors": int(visitors), "visits": int(visits), "pageviews": int(pageviews),
                 "bounce_rate": _rate(int(bounces), int(visits)),
                 "visit_duration": round(int(duration) / int(visits), 1) if visits else 0.0}
                for value, visitors, visits, pageviews, bounces, duration in rows]
