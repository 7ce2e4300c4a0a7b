"""User-agent client hints: Matomo's ``uadata`` parameter or the ``Sec-CH-UA*`` headers, and what they correct.

Chromium freezes its User-Agent: Windows 11 still says "Windows NT 10.0", Android says "Android 10; K" whatever
the version and device, macOS says "10_15_7", and Edge, Opera, Brave and others may look like plain Chrome.
Client hints carry the truth. matomo.js sends them as ``uadata`` JSON (``fullVersionList`` replaces ``brands``
when the high-entropy values resolved; ``{}`` when the browser has none); without ``uadata`` Matomo reads the
request headers, and so do we. A field missing from ``uadata`` is taken from the headers when they have it.

Everything here is tolerant: junk, non-JSON, wrong types or oversized input yield empty hints, never an error.
When the UA came from the ``ua`` parameter (server-side tracking), pass empty headers: the request's headers
then describe the proxy, not the visitor.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from user_agents import parse

from ingest.useragent import MAX_USER_AGENT_LENGTH, UserAgentInfo

MAX_HINTS_LENGTH = 2000
_MAX_BRANDS = 12
_MAX_FIELD = 64


@dataclass(frozen=True, slots=True)
class ClientHints:
    brands: tuple[tuple[str, str], ...] = ()  # (brand, version), full versions when known
    platform: str = ""
    platform_version: str = ""
    model: str = ""
    mobile: bool | None = None
    form_factors: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.brands or self.platform or self.platform_version or self.model or self.form_factors) or (
            self.mobile is not None
        )


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    brand: str
    model: str


EMPTY = ClientHints()

# ---------------------------------------------------------------------------------------------------------------
# reading


def _clean(value: object, *, numbers: bool = False) -> str:
    """A short printable string, or "" for anything else; `numbers` also accepts JSON numbers (versions)."""
    if not isinstance(value, str) and not (numbers and isinstance(value, int | float) and not isinstance(value, bool)):
        return ""
    text = str(value).strip()[:_MAX_FIELD]
    return text if text.isprintable() else ""


def _brand_list(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    brands = []
    for item in value[:_MAX_BRANDS]:
        if isinstance(item, dict):
            brand = _clean(item.get("brand"))
            if brand:
                brands.append((brand, _clean(item.get("version"), numbers=True)))
    return tuple(brands)


def _mobile(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"?1", "1", "true"}:
            return True
        if lowered in {"?0", "0", "false"}:
            return False
    return None


def _from_uadata(uadata: str) -> ClientHints:
    if not uadata or len(uadata) > MAX_HINTS_LENGTH:
        return EMPTY
    try:
        data = json.loads(uadata)
    except (ValueError, RecursionError):
        return EMPTY
    if not isinstance(data, dict):
        return EMPTY
    form_factors = data.get("formFactors")
    if not isinstance(form_factors, list):
        form_factors = []
    return ClientHints(
        brands=_brand_list(data.get("fullVersionList")) or _brand_list(data.get("brands")),
        platform=_clean(data.get("platform")),
        platform_version=_clean(data.get("platformVersion"), numbers=True),
        model=_clean(data.get("model")),
        mobile=_mobile(data.get("mobile")),
        form_factors=tuple(factor for factor in map(_clean, form_factors[:_MAX_BRANDS]) if factor),
    )


# RFC 8941 list members: a string or token, then parameters such as ;v="131". GREASE brands put ; ( ) inside quotes.
_SF_STRING = r'"(?:[^"\\]|\\.)*"'
_SF_ITEM = re.compile(
    rf"\s*(?P<item>{_SF_STRING}|[A-Za-z*][^,;\s]*)(?P<params>(?:\s*;\s*[a-z*][a-z0-9_.*-]*(?:=(?:{_SF_STRING}|[^,;\s]*))?)*)"
    r"\s*(?:,|$)"
)
_SF_PARAM = re.compile(rf";\s*([a-z*][a-z0-9_.*-]*)(?:=({_SF_STRING}|[^,;\s]*))?")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
        return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text
    return text


def _sf_list(value: str) -> list[tuple[str, dict[str, str]]]:
    """Items of a structured-field list with their parameters; stops quietly at the first syntax error."""
    items: list[tuple[str, dict[str, str]]] = []
    if not value:
        return items
    position, text = 0, value[:MAX_HINTS_LENGTH]
    while position < len(text) and len(items) < _MAX_BRANDS:
        match = _SF_ITEM.match(text, position)
        if match is None or match.end() == position:
            break
        raw_params = match.group("params")
        params = {name: _unquote(raw) for name, raw in _SF_PARAM.findall(raw_params)} if raw_params else {}
        items.append((_unquote(match.group("item")), params))
        position = match.end()
    return items


def _header_brands(value: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (brand, version)
        for brand, version in ((_clean(item), _clean(params.get("v", ""))) for item, params in _sf_list(value))
        if brand
    )


def _header_string(value: str) -> str:
    items = _sf_list(value)
    return _clean(items[0][0]) if items else ""


def _from_headers(headers: Mapping[str, str]) -> ClientHints:
    get = headers.get
    return ClientHints(
        brands=_header_brands(get("sec-ch-ua-full-version-list", "")) or _header_brands(get("sec-ch-ua", "")),
        platform=_header_string(get("sec-ch-ua-platform", "")),
        platform_version=_header_string(get("sec-ch-ua-platform-version", "")),
        model=_header_string(get("sec-ch-ua-model", "")),
        mobile=_mobile(get("sec-ch-ua-mobile", "")),
        form_factors=tuple(
            factor for factor in (_clean(item) for item, _ in _sf_list(get("sec-ch-ua-form-factors", ""))) if factor
        ),
    )


_HINT_HEADERS = (
    "sec-ch-ua",
    "sec-ch-ua-full-version-list",
    "sec-ch-ua-platform",
    "sec-ch-ua-platform-version",
    "sec-ch-ua-model",
    "sec-ch-ua-mobile",
    "sec-ch-ua-form-factors",
)
_CACHEABLE = 1500  # total characters; real hints are a few hundred, so only junk skips the cache


def hints_from(uadata_param: str, headers: Mapping[str, str]) -> ClientHints:
    """Client hints from Matomo's ``uadata`` JSON, completed (or replaced, when it is absent, empty, ``{}`` or
    junk) by the ``Sec-CH-UA*`` headers. `headers` keys are lower-case. Results for small inputs are cached:
    real traffic repeats a few hundred combinations."""
    values = tuple(headers.get(name) or "" for name in _HINT_HEADERS)
    uadata_param = uadata_param or ""
    if len(uadata_param) + sum(map(len, values)) <= _CACHEABLE:
        return _hints_cached(uadata_param, values)
    return _hints(uadata_param, values)


@lru_cache(maxsize=4096)
def _hints_cached(uadata_param: str, values: tuple[str, ...]) -> ClientHints:
    return _hints(uadata_param, values)


def _hints(uadata_param: str, values: tuple[str, ...]) -> ClientHints:
    try:
        from_param = _from_uadata(uadata_param)
    except Exception:  # belt and braces: junk must never break ingestion
        from_param = EMPTY
    try:
        from_headers = _from_headers(dict(zip(_HINT_HEADERS, values, strict=True)))
    except Exception:
        from_headers = EMPTY
    if not from_param:
        return from_headers
    if not from_headers:
        return from_param
    return ClientHints(
        brands=from_param.brands or from_headers.brands,
        platform=from_param.platform or from_headers.platform,
        platform_version=from_param.platform_version or from_headers.platform_version,
        model=from_param.model or from_headers.model,
        mobile=from_param.mobile if from_param.mobile is not None else from_headers.mobile,
        form_factors=from_param.form_factors or from_headers.form_factors,
    )


# ---------------------------------------------------------------------------------------------------------------
# refining

# Brand names as ua-parser spells the browser family. Anything not listed (GREASE, "Chromium", unknown forks) is
# not used to rename the browser.
_BRAND_NAMES = {
    "google chrome": "Chrome",
    "microsoft edge": "Edge",
    "opera": "Opera",
    "opera gx": "Opera",
    "brave": "Brave",
    "samsung internet": "Samsung Internet",
    "yandex": "Yandex Browser",
    "yabrowser": "Yandex Browser",
    "vivaldi": "Vivaldi",
    "duckduckgo": "DuckDuckGo",
    "whale": "Whale",
    "naver whale": "Whale",
    "android webview": "Chrome Mobile WebView",
    "headlesschrome": "HeadlessChrome",
}
_GREASE = re.compile(r"^\s*not[^a-z0-9]*a[^a-z0-9]*brand\s*$", re.IGNORECASE)
_PLATFORM_OS = {
    "windows": "Windows",
    "macos": "Mac OS X",
    "android": "Android",
    "chrome os": "Chrome OS",
    "chromeos": "Chrome OS",
    "linux": "Linux",
    "ios": "iOS",
}
_VERSION = re.compile(r"^(\d{1,5})(?:\.(\d{1,5}))?")


def _family_root(family: str) -> str:
    return family.removesuffix(" WebView").removesuffix(" Mobile").removesuffix(" Mobile iOS")


def _browser(hints: ClientHints) -> tuple[str, str] | None:
    """The most specific known brand and its major version: Edge, Opera, Brave... before Google Chrome."""
    found = None
    for brand, version in hints.brands:
        if _GREASE.match(brand):
            continue
        name = _BRAND_NAMES.get(brand.lower())
        if name is None:
            continue
        major = _VERSION.match(version)
        candidate = (name, major.group(1) if major else "")
        if name != "Chrome":
            return candidate
        found = found or candidate
    return found


def _os_version(os_name: str, platform_version: str, current: str) -> str:
    match = _VERSION.match(platform_version)
    if match is None:
        return current
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if os_name == "Windows":
        # learn.microsoft.com "Detect Windows 11 using User-Agent Client Hints": 13+ is 11, 1-12 is 10, 0 is 7/8/8.1.
        if major >= 13:
            return "11"
        if major >= 1:
            return "10"
        return current
    if os_name == "Mac OS X":
        return f"{major}.{minor}"
    if os_name == "Android":
        return f"{major}.{minor}" if minor else str(major)
    return current


def refine(info: UserAgentInfo, hints: ClientHints) -> UserAgentInfo:
    """`info` corrected by the client hints: OS and version, browser and major version, device type."""
    if info.is_bot or not hints:
        return info
    return _refine(info, hints)


@lru_cache(maxsize=4096)
def _refine(info: UserAgentInfo, hints: ClientHints) -> UserAgentInfo:
    changes: dict[str, str] = {}

    os_name = _PLATFORM_OS.get(hints.platform.lower(), "") if hints.platform else ""
    if os_name and os_name != info.os:
        changes["os"] = os_name
        changes["os_version"] = _os_version(os_name, hints.platform_version, "")
    elif os_name:
        version = _os_version(os_name, hints.platform_version, info.os_version)
        if version != info.os_version:
            changes["os_version"] = version

    browser = _browser(hints)
    if browser is not None:
        name, major = browser
        current = _family_root(info.browser)
        if current == _family_root(name):
            if major:
                changes["browser_version"] = major
        # A fork that ua-parser names from its own UA token (YaBrowser/, Whale/...) keeps that name even if it
        # also lists "Google Chrome"; any more specific brand (Edge, Opera, Brave...) wins over the UA.
        elif name != "Chrome" or current in {"", "Chromium"}:
            changes["browser"] = name
            changes["browser_version"] = major
    elif not info.browser and any(brand.lower() == "chromium" for brand, _ in hints.brands):
        changes["browser"] = "Chromium"

    factors = {factor.lower() for factor in hints.form_factors}
    if "tablet" in factors:
        changes["device_type"] = "tablet"
    elif hints.mobile:
        changes["device_type"] = "smartphone"
    elif hints.mobile is False and "desktop" in factors:
        changes["device_type"] = "desktop"

    changes = {key: value for key, value in changes.items() if getattr(info, key) != value}
    return dataclasses.replace(info, **changes) if changes else info


# ---------------------------------------------------------------------------------------------------------------
# device brand and model (not part of UserAgentInfo)

_GENERIC_MODELS = {"k", "smartphone", "tablet", "other", "generic"}
_MODEL_UNSAFE = re.compile(r"[^\w .+\-/]")


def _usable(brand: str | None, model: str | None) -> DeviceDetail:
    brand = brand or ""
    model = model or ""
    if brand.lower().startswith("generic") or brand == "Other":
        brand = ""
    if model.lower() in _GENERIC_MODELS:
        model = ""
    return DeviceDetail(brand=brand, model=model)


@lru_cache(maxsize=20_000)
def _ua_device(user_agent: str) -> DeviceDetail:
    device = parse(user_agent).device
    return _usable(device.brand, device.model)


@lru_cache(maxsize=20_000)
def _model_device(model: str) -> DeviceDetail:
    # ua-parser knows the brands of model codes ("SM-S918B" is Samsung, "Pixel 8" is Google); ask it with the
    # model placed where an unreduced Android UA would carry it.
    device = parse(f"Mozilla/5.0 (Linux; Android 14; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Mobile").device
    detail = _usable(device.brand, device.model)
    return DeviceDetail(brand=detail.brand, model=model)


def device_detail(user_agent: str, hints: ClientHints) -> DeviceDetail:
    """Device brand and model: the ``model`` client hint when there is one (the reduced Android UA says only
    "K"), else what ua-parser reads from the UA. Empty strings when unknown."""
    model = _MODEL_UNSAFE.sub("", hints.model).strip()[:_MAX_FIELD]
    if model:
        return _model_device(model)
    return _ua_device(user_agent[:MAX_USER_AGENT_LENGTH])  # cut before caching, to bound the cache's memory
