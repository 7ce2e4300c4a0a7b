"""The Countries panel's world map: visitors per country as an inline SVG choropleth, drawn on the server.

The geometry (Natural Earth 1:110m, public domain) and the country names in English and Dutch are built once by
tools/world-map/build.mjs into world_map.json; no script or request to anyone else is needed to show it. Each
country is shaded by its share of the range's visitors in a few fixed steps, so the legend means the same on
every site; countries without visitors are grey. Countries too small for the 110m map (Singapore, Malta, ...)
and visitors without a known country are only in the panel's table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

GEOMETRY = Path(__file__).parent / "world_map.json"
# Lower bounds of each shade's share of visitors, in percent: step 1 is anything above 0.
STEPS = (0.0, 1.0, 5.0, 15.0, 40.0)


@dataclass(frozen=True, slots=True)
class WorldGeometry:
    width: int
    height: int
    paths: dict[str, str]  # ISO 3166-1 alpha-2 code: SVG path data in the view box
    names: dict[str, dict[str, str]]  # language: code: country name


@cache
def geometry() -> WorldGeometry:
    data = json.loads(GEOMETRY.read_text(encoding="utf-8"))
    return WorldGeometry(data["width"], data["height"], data["paths"], data["names"])


def country_name(code: str, language: str) -> str:
    """The country's name in the language (the names cover every ISO 3166-1 code and Kosovo, not only the
    countries the map draws), for the map's hover and the Countries table; the code itself when there is no
    such code."""
    return geometry().names.get(language, {}).get(code.upper()) or code


@dataclass(frozen=True, slots=True)
class Shape:
    code: str
    path: str
    visitors: int
    share: float  # percent of the range's visitors
    step: int  # 0: no visitors, else 1..len(STEPS)


@dataclass(frozen=True, slots=True)
class WorldMap:
    width: int
    height: int
    shapes: list[Shape]
    steps: tuple[float, ...] = STEPS

    def legend(self) -> list[tuple[int, float, float | None]]:
        """(step, lowest share, share where the next step starts or None for the last)."""
        bounds = [*self.steps[1:], None]
        return [(index + 1, low, bounds[index]) for index, low in enumerate(self.steps)]


def _step(share: float) -> int:
    return 1 + sum(1 for low in STEPS[1:] if share >= low)


def world_map(rows: list[dict[str, Any]]) -> WorldMap:
    """The map for a country breakdown's rows (value: country code, visitors); every country of the geometry is a
    shape, in a fixed order so the page does not change shape order between ranges."""
    world = geometry()
    visitors = {str(row["value"]).upper(): int(row["visitors"]) for row in rows}
    total = sum(visitors.values())
    shapes = []
    for code, path in world.paths.items():
        count = visitors.get(code, 0)
        share = 100 * count / total if total else 0.0
        shapes.append(Shape(code, path, count, round(share, 1), _step(share) if count else 0))
    return WorldMap(world.width, world.height, shapes)
