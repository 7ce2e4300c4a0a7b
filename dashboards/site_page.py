"""What the site dashboard page shows besides the summary: the breakdown panels and the links between views.

Every row of a panel is a link that adds a filter on its value; filters, period and language stay in the URL,
so a view can be bookmarked and shared with a colleague who has access. Some panels have tabs for related
reports (page titles beside pages, browser versions beside browsers, as Matomo and Plausible group them); the
chosen tab is `tab=<dimension>` in the URL too, and only the shown tab is read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any
from urllib.parse import urlencode

from dashboards.breakdowns import FROM_ROLLUPS, Breakdown, Breakdowns, with_conversion_rates
from dashboards.filters import DIMENSIONS, Filter
from dashboards.periods import DateRange
from dashboards.world_map import world_map
from ingest.sites import Site

PANEL_ROWS = 10
MAP_ROWS = 300  # every country code there is, and the unknown one: the map shades all of them
_VISIT_COLUMNS = (("visitors", "Visitors"), ("visits", "Visits"))
_ACTION_COLUMNS = (("visitors", "Visitors"), ("actions", "Actions"))


@dataclass(frozen=True, slots=True)
class PanelSpec:
    dimension: str
    title: str
    columns: tuple[tuple[str, str], ...]
    translated: bool = False  # values are words Teller chose (channels), shown in the page's language


PANELS = (
    PanelSpec("page", "Pages", (("visitors", "Visitors"), ("actions", "Pageviews"), ("load_time_ms", "Load time"))),
    PanelSpec("entry_page", "Entry pages", (*_VISIT_COLUMNS, ("bounce_rate", "Bounce rate"))),
    PanelSpec("exit_page", "Exit pages", _VISIT_COLUMNS),
    PanelSpec("channel", "Channels", (*_VISIT_COLUMNS, ("bounce_rate", "Bounce rate")), translated=True),
    PanelSpec("referrer", "Referrers", _VISIT_COLUMNS),
    PanelSpec("utm_campaign", "Campaigns", _VISIT_COLUMNS),
    PanelSpec("country", "Countries", _VISIT_COLUMNS),
    PanelSpec("region", "Regions", _VISIT_COLUMNS),
    PanelSpec("city", "Cities", _VISIT_COLUMNS),
    PanelSpec("device", "Devices", _VISIT_COLUMNS),
    PanelSpec("browser", "Browsers", _VISIT_COLUMNS),
    PanelSpec("os", "Operating systems", _VISIT_COLUMNS),
    PanelSpec("event_category", "Events", _ACTION_COLUMNS),
    PanelSpec("goal", "Goals", (("visitors", "Visitors"), ("conversion_rate", "Conversion rate"),
                                ("revenue", "Revenue"))),
    PanelSpec("outlink", "Outlinks", _ACTION_COLUMNS),
    PanelSpec("download", "Downloads", _ACTION_COLUMNS),
    PanelSpec("search_keyword", "Site search", _ACTION_COLUMNS),
    PanelSpec("hour", "Time of day", _ACTION_COLUMNS),
)
# The other reports a panel offers on tabs, after its own: `tab=<dimension>` in the URL shows one instead.
TABS: dict[str, tuple[PanelSpec, ...]] = {
    "page": (PanelSpec("title", "Page titles", PANELS[0].columns),),
    "utm_campaign": (PanelSpec("utm_source", "Campaign sources", _VISIT_COLUMNS),
                     PanelSpec("utm_medium", "Campaign media", _VISIT_COLUMNS),
                     PanelSpec("utm_term", "Campaign terms", _VISIT_COLUMNS),
                     PanelSpec("utm_content", "Campaign content", _VISIT_COLUMNS)),
    "city": (PanelSpec("language", "Languages", _VISIT_COLUMNS),),  # Matomo lists languages with locations
    "device": (PanelSpec("screen", "Screen sizes", _VISIT_COLUMNS),),
    "browser": (PanelSpec("browser_version", "Browser versions", _VISIT_COLUMNS),),
    "os": (PanelSpec("os_version", "OS versions", _VISIT_COLUMNS),),
    "event_category": (PanelSpec("event_action", "Event actions", _ACTION_COLUMNS),
                       PanelSpec("event_name", "Event names", _ACTION_COLUMNS)),
}


def _grouped(dimensions: Collection[str]) -> tuple[str, ...]:
    """The visit panels read together, in one pass over the visits (exit pages need FINAL, so they are read
    alone)."""
    return tuple(name for name in dimensions if DIMENSIONS[name].table == "sessions" and name != "exit_page")


GROUPED = _grouped([spec.dimension for spec in PANELS])  # with every panel on its first tab


def _action_groups(dimensions: list[str]) -> list[list[str]]:
    """The action panels in the groups Breakdowns.action_reports reads in one query each: the dimensions of a
    kind that has several (page views by page and by hour), then the kinds that have one."""
    by_kind: dict[str, list[str]] = {}
    for dimension in dimensions:
        by_kind.setdefault(DIMENSIONS[dimension].kind, []).append(dimension)
    groups = [names for names in by_kind.values() if len(names) > 1]
    singles = [names[0] for names in by_kind.values() if len(names) == 1]
    return groups + ([singles] if singles else [])


class Links:
    """URLs of this page with one thing changed; everything else in the query is kept.

    Under a shared link (`shared_path`, /share/<secret>) every URL stays under that path: the exports and the
    live count go to the link's own routes, and there is no Stats API link (it needs a login or a token).
    """

    def __init__(self, site: Site, query: list[tuple[str, str]], shared_path: str | None = None) -> None:
        self.site = site
        self.shared_path = shared_path
        self.home = shared_path or f"/sites/{site.site_id}"
        self.query = [(key, value) for key, value in query if key != "lang"] + \
            [(key, value) for key, value in query if key == "lang"][:1]

    def _url(self, pairs: list[tuple[str, str]]) -> str:
        return self.home + (f"?{urlencode(pairs)}" if pairs else "")

    def period(self, period: str) -> str:
        return self._url([pair for pair in self.query if pair[0] not in ("period", "from", "to")]
                         + [("period", period)])

    def with_filter(self, dimension: str, value: str) -> str:
        text = f"{dimension}=={value}"
        filters = [pair for pair in self.query if pair[0] == "filter"]
        return self._url(self.query if ("filter", text) in filters else [*self.query, ("filter", text)])

    def without_filter(self, index: int) -> str:
        kept, seen = [], 0
        for key, value in self.query:
            if key == "filter":
                seen += 1
                if seen - 1 == index:
                    continue
            kept.append((key, value))
        return self._url(kept)

    def without_filters(self) -> str:
        return self._url([pair for pair in self.query if pair[0] != "filter"])

    @property
    def api(self) -> str | None:
        if self.shared_path:
            return None
        pairs = [pair for pair in self.query if pair[0] not in ("lang", "embed")]
        return f"/api/v1/sites/{self.site.site_id}/summary" + (f"?{urlencode(pairs)}" if pairs else "")

    @property
    def realtime(self) -> str:
        return f"{self.shared_path}/realtime" if self.shared_path else f"/api/v1/sites/{self.site.site_id}/realtime"

    def tab(self, panel: str, options: Collection[str], dimension: str) -> str:
        """This page with `dimension` on the tab panel `panel` (one of `options`; the panel's own dimension is its
        default, which needs no parameter), back at that panel."""
        pairs = [pair for pair in self.query if not (pair[0] == "tab" and pair[1] in options)]
        return self._url(pairs + ([("tab", dimension)] if dimension != panel else [])) + f"#panel-{panel}"

    def csv(self, dimension: str) -> str:
        pairs = [pair for pair in self.query if pair[0] in ("period", "from", "to", "filter")]
        base = f"{self.shared_path}/export" if self.shared_path else f"/api/v1/sites/{self.site.site_id}/breakdown"
        return f"{base}?" + urlencode([("dimension", dimension), *pairs, ("format", "csv")])


def _tab_options(spec: PanelSpec, from_rollups: bool) -> tuple[PanelSpec, ...]:
    options = (spec, *TABS.get(spec.dimension, ()))
    return tuple(option for option in options if option.dimension in FROM_ROLLUPS) if from_rollups else options


def build_panels(breakdowns: Breakdowns, site: Site, date_range: DateRange, filters: list[Filter],
                 from_rollups: bool, links: Links, executor: Executor | None = None,
                 visitors: Callable[[], int] | None = None, tabs: Collection[str] = ()) -> list[dict[str, Any]]:
    """The panels with their top rows. Of raw rows, the visit panels come from one query (exit pages aside) and
    the action panels from two; with `executor`, those queries run on it side by side. A range read from
    rollups shows the panels rollups keep, unfiltered, one query each. `visitors` gives the range's visitors
    under the filters when the caller counts them anyway (the summary): the goals' conversion rates are then
    computed from it, after the panels' queries, instead of by a query of their own that builds the filters'
    set of visits once more. `tabs` names the dimensions asked for on the panels that have tabs; other names are
    ignored."""
    options = {spec.dimension: _tab_options(spec, from_rollups)
               for spec in PANELS if not from_rollups or spec.dimension in FROM_ROLLUPS}
    shown = {panel: next((option for option in choices if option.dimension in tabs), choices[0])
             for panel, choices in options.items()}
    specs = list(shown.values())
    grouped = [] if from_rollups else list(_grouped([spec.dimension for spec in specs]))
    actions = [] if from_rollups else [spec.dimension for spec in specs if DIMENSIONS[spec.dimension].table == "events"]

    def report(dimension: str) -> dict[str, Breakdown]:
        limit = MAP_ROWS if dimension == "country" else PANEL_ROWS
        return {dimension: breakdowns.report(site, date_range, dimension, [] if from_rollups else filters, limit,
                                             with_visits=False)}

    def grouped_reports() -> dict[str, Breakdown]:
        return breakdowns.visit_reports(site, date_range, grouped, filters, MAP_ROWS) if grouped else {}
    def action_reports(dimensions: list[str]) -> dict[str, Breakdown]:
        return breakdowns.action_reports(site, date_range, dimensions, filters, PANEL_ROWS,
                                         conversion_rates=visitors is None)
    tasks: list[Callable[[], dict[str, Breakdown]]] = [grouped_reports] + [
        partial(action_reports, group) for group in _action_groups(actions)] + [
        partial(report, spec.dimension) for spec in specs
        if spec.dimension not in grouped and spec.dimension not in actions]
    reports: dict[str, Breakdown] = {}
    for found in (executor.map(lambda task: task(), tasks) if executor is not None else (task() for task in tasks)):
        reports.update(found)
    if visitors is not None and "goal" in actions:
        goals = reports["goal"]
        reports["goal"] = replace(goals, rows=with_conversion_rates(goals.rows, visitors()))
    return [{"panel": panel, "dimension": spec.dimension, "title": spec.title, "columns": spec.columns,
             "rows": reports[spec.dimension].rows[:PANEL_ROWS], "translated": spec.translated,
             "filterable": not from_rollups, "csv": links.csv(spec.dimension),
             "map": world_map(reports[spec.dimension].rows) if spec.dimension == "country" else None,
             "tabs": [{"title": option.title, "current": option is spec,
                       "url": links.tab(panel, [choice.dimension for choice in options[panel]], option.dimension)}
                      for option in options[panel]] if len(options[panel]) > 1 else []}
            for panel, spec in shown.items()]
