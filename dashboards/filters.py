"""Report dimensions and the filters on them, as SQL fragments whose values are always bound parameters.

A dimension is either a property of the visit (its entry page, source, location, device: a column of
`sessions`) or of an action (the page viewed, the event sent, the link followed: a column of `events`, for
one kind of action). Filters are written `filter=<dimension><op><value>` in a URL, repeatable, with `==` (is),
`!=` (is not), `~` (contains) and `!~` (does not contain); matching ignores case for contains.

How a filter narrows a report, following Plausible: a visit filter keeps the visits that match (and, in
action reports, the actions of those visits); an action filter keeps the visits with at least one matching
action, except in a report of the same kind of action, where it keeps the matching actions themselves.
A filter on the visitor's place or device needs no visit lookup in an action report: each action carries its
visit's values (ingest copies them), so the condition applies to `events` as it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dashboards.reasons import ExplainedError
from dashboards.sampling import EXACT, Sample

MAX_FILTERS = 10
MAX_FILTER_VALUE = 1000
SqlValues = dict[str, str | int]  # bound parameters by name
OPERATORS = ("!=", "!~", "==", "~")  # two-character operators first, so "!=" is not read as "~"


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    expression: str  # SQL over the table's columns; a constant of this module, never user input
    table: str  # "sessions" or "events"
    kind: str = ""  # for events: the action name the dimension belongs to ("" for any)
    # For a visit dimension: events carry its columns too, copied from their visit (ingest's VISIT_CLIENT_COLUMNS).
    on_events: bool = False


def _visit(name: str, expression: str | None = None) -> Dimension:
    return Dimension(name, expression or name, "sessions")


def _client(name: str, expression: str | None = None) -> Dimension:
    """A visit dimension of the visitor's place or device, which each of the visit's actions carries as well."""
    return Dimension(name, expression or name, "sessions", on_events=True)


def _action(name: str, expression: str, kind: str) -> Dimension:
    return Dimension(name, expression, "events", kind)


DIMENSIONS: dict[str, Dimension] = {dimension.name: dimension for dimension in (
    _visit("entry_page"), _visit("exit_page"),
    _visit("channel", "referrer_type"),
    _visit("referrer", "if(referrer_name != '', referrer_name, referrer_host)"),
    _visit("utm_source"), _visit("utm_medium"), _visit("utm_campaign"), _visit("utm_term"), _visit("utm_content"),
    _client("country", "country_code"), _client("region"), _client("city"),
    _client("device", "device_type"), _client("browser"),
    _client("browser_version", "concat(browser, ' ', browser_version)"),
    _client("os"), _client("os_version", "concat(os, ' ', os_version)"),
    _client("screen", "screen_size"), _client("language"),
    _action("page", "pathname", "pageview"), _action("title", "title", "pageview"),
    _action("hour", "if(local_hour < 0, '', toString(local_hour))", "pageview"),  # -1: the browser sent no time
    _action("outlink", "target_url", "outlink"), _action("download", "target_url", "download"),
    _action("search_keyword", "search_keyword", "site_search"),
    _action("event_category", "event_category", "event"), _action("event_action", "event_action", "event"),
    _action("event_name", "event_name", "event"),
    _action("goal", "if(name = 'ecommerce_order', 'ecommerce', toString(goal_id))", "goal"),
)}


def kind_condition(kind: str) -> str:
    """SQL restricting events to one kind of action; a goal report counts ecommerce orders as a goal too."""
    return "name IN ('goal', 'ecommerce_order')" if kind == "goal" else f"name = '{kind}'"


class FilterError(ExplainedError):
    """A filter is not understood; the message says which and what is allowed."""


@dataclass(frozen=True, slots=True)
class Filter:
    dimension: Dimension
    operator: str
    value: str

    def condition(self, parameter: str) -> str:
        """The condition on the dimension's own table, with the value bound as {parameter:String}."""
        expression, bound = self.dimension.expression, f"{{{parameter}:String}}"
        kind = f"{kind_condition(self.dimension.kind)} AND " if self.dimension.kind else ""
        match self.operator:
            case "==":
                return f"{kind}{expression} = {bound}"
            case "!=":
                return f"{kind}{expression} != {bound}"
            case "~":
                return f"{kind}positionCaseInsensitiveUTF8({expression}, {bound}) > 0"
            case _:
                return f"{kind}positionCaseInsensitiveUTF8({expression}, {bound}) = 0"

    @property
    def negative(self) -> bool:
        return self.operator.startswith("!")

    def positive(self) -> Filter:
        """The same filter with "is" for "is not" and "contains" for "does not contain"."""
        return Filter(self.dimension, {"!=": "==", "!~": "~"}.get(self.operator, self.operator), self.value)

    def as_text(self) -> str:
        return f"{self.dimension.name}{self.operator}{self.value}"


def parse_filters(texts: Iterable[str]) -> list[Filter]:
    filters = []
    for text in texts:
        for operator in OPERATORS:
            name, found, value = text.partition(operator)
            if found:
                break
        else:
            raise FilterError("filter {text!r} needs an operator: ==, !=, ~ (contains) or !~", text=text[:100])
        dimension = DIMENSIONS.get(name.strip())
        if dimension is None:
            raise FilterError("filter {text!r}: {name!r} is not a dimension; one of {allowed}",
                              text=text[:100], name=name.strip()[:50], allowed=", ".join(DIMENSIONS))
        if len(value) > MAX_FILTER_VALUE:
            raise FilterError("a filter value has at most {limit} characters", limit=MAX_FILTER_VALUE)
        filters.append(Filter(dimension, operator, value))
    if len(filters) > MAX_FILTERS:
        raise FilterError("at most {limit} filters", limit=MAX_FILTERS)
    return filters


# Subqueries that turn a filter on one table into a set of visits for the other. The range of `events` is
# widened by a day: a visit that started in the range can have actions after it (visits end at midnight, so a
# day is enough); sessions use FINAL so a visit's changed exit page counts only in its latest version. A
# negative filter across tables excludes the visits that match its positive form ("never saw /blog"). A sampled
# query samples its subquery alike: both tables are sampled by visitor, so the same visitors are in both; the
# subquery names them by their range of ids (SAMPLE 1/n keeps the ids below 2^64 / n), which page_visits, not
# sampled itself, can read too. A filter on one page reads page_visits (migration 19): sorted by path and
# visitor, it finds a path's visits in a few granules, where events would be read for every page view of the
# range.
_VISITS_WITH_ACTION = ("IN (SELECT visit_id FROM events WHERE site_id = {{site:UInt32}} "
                       "AND ts >= {{start:DateTime('UTC')}} - INTERVAL 1 DAY AND ts < {{end:DateTime('UTC')}} "
                       "+ INTERVAL 1 DAY AND {sample}")
_VISITS_WITH_PAGE = ("IN (SELECT visit_id FROM page_visits WHERE site_id = {{site:UInt32}} "
                     "AND ts >= {{start:DateTime('UTC')}} - INTERVAL 1 DAY AND ts < {{end:DateTime('UTC')}} "
                     "+ INTERVAL 1 DAY AND {sample}pathname = {{{parameter}:String}})")
_MATCHING_VISITS = ("IN (SELECT visit_id FROM sessions FINAL WHERE site_id = {{site:UInt32}} "
                    "AND start >= {{start:DateTime('UTC')}} - INTERVAL 1 DAY AND start < {{end:DateTime('UTC')}} "
                    "AND sign = 1 AND {sample}")
_SAMPLED_VISITORS = "visitor_id < {sample_bound:UInt64} AND "


def _visits_matching(item: Filter, parameter: str, sample: Sample) -> str:
    """`visit_id [NOT] IN (…)`: the filter applied through the visit, to rows of the other table or kind."""
    membership = "visit_id NOT " if item.negative else "visit_id "
    sampled = _SAMPLED_VISITORS if sample.factor > 1 else ""
    positive = item.positive()
    if positive.dimension.name == "page" and positive.operator == "==":
        return membership + _VISITS_WITH_PAGE.format(sample=sampled, parameter=parameter)
    subquery = (_VISITS_WITH_ACTION if item.dimension.table == "events" else _MATCHING_VISITS).format(
        sample=sampled)
    return f"{membership}{subquery}{positive.condition(parameter)})"


def _sample_values(sample: Sample) -> dict[str, int]:
    """The bound parameter of _SAMPLED_VISITORS, for a sampled query."""
    return {"sample_bound": sample.visitor_bound} if sample.factor > 1 else {}


def where(filters: list[Filter], table: str, kind: str = "", sample: Sample = EXACT) -> tuple[str, SqlValues]:
    """` AND …` conditions for a query on `table` (for events: about actions of `kind`), and their values."""
    conditions: list[str] = []
    values: SqlValues = _sample_values(sample)
    for index, item in enumerate(filters):
        parameter = f"filter{index}"
        values[parameter] = item.value
        if item.dimension.table == table and (table == "sessions" or item.dimension.kind in ("", kind)):
            conditions.append(item.condition(parameter))
        elif table == "events" and item.dimension.on_events:
            conditions.append(item.condition(parameter))  # the visit's own value, copied to its actions
        else:
            conditions.append(_visits_matching(item, parameter, sample))
    return "".join(f" AND {condition}" for condition in conditions), values


def where_actions(filters: list[Filter], kinds: tuple[str, ...], sample: Sample = EXACT) -> tuple[str, SqlValues]:
    """` AND …` conditions for one query over the actions of several kinds (a report per kind, read in one pass),
    and their values: each row is filtered as where() filters it in the report of its own kind, so an action
    filter applies to the rows of its kind directly and to the other kinds' rows through their visit."""
    conditions: list[str] = []
    values: SqlValues = _sample_values(sample)
    for index, item in enumerate(filters):
        parameter = f"filter{index}"
        values[parameter] = item.value
        own_kind = item.dimension.kind
        if item.dimension.on_events:
            conditions.append(item.condition(parameter))  # the visit's own value, copied to its actions
        elif item.dimension.table != "events" or own_kind not in kinds:
            conditions.append(_visits_matching(item, parameter, sample))
        elif len(kinds) == 1:
            conditions.append(item.condition(parameter))
        else:
            conditions.append(f"({item.condition(parameter)} OR (NOT ({kind_condition(own_kind)}) "
                              f"AND {_visits_matching(item, parameter, sample)}))")
    return "".join(f" AND {condition}" for condition in conditions), values
