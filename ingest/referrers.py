"""Where a visit came from: direct entry, campaign, search engine, AI assistant, social network or website.

Detection follows Matomo's order (plugins/Referrers/Columns/Base.php), so numbers match what Matomo users know:
1. `ignore_referrer=1` / `ignore_referer=1` on the page URL: direct, every field empty.
2. Campaign parameters on the landing URL query, then its #fragment; the tracking request's own parameters
   override both. A Google Ads/DoubleClick referrer that carries `url=` is a campaign too ("adwords (type)").
3. Direct: no referrer, not an http(s) URL, or a host of the site itself (`site_hosts`, or the page's host).
4. Search engine, then AI assistant, then social network (data/referrers.json), else a website.
The UTM fields are filled from the landing URL whatever the type, for Plausible-style source/medium reports.

Android apps send `android-app://<package>/` as referrer (Gmail, the Google app, Trusted Web Activities). A
package listed under "apps" in the data file gets that entry's type and name (the Google app is Google search);
any other package is a website named after the package, as in Matomo, rather than being lost in direct.

data/referrers.json is Teller's own list (not Matomo's YAML). Schema:
    {"search": [{"name": "Google", "hosts": ["google.{tld}", "images.google.{tld}"], "params": ["q"],
                 "apps": ["com.google.android.googlequicksearchbox"]}, ...],
     "ai":     [{"name": "ChatGPT", "hosts": ["chatgpt.com"], "apps": [...]}, ...],
     "social": [{"name": "Facebook", "hosts": ["facebook.com", "*.facebook.com", "fb.me"]}, ...]}
- "hosts" are matched case-insensitively, ignoring a leading "www." or "m." on both sides and any port.
  "{tld}" (last label only) stands for a top-level suffix: a two-letter country code, com/net/org/cat, or a
  second level under a country code (co.uk, com.au, co.jp, ...). "*." (first label only) matches any subdomain,
  not the domain itself.
- "params" (optional) are the query parameters holding the search keyword, first non-empty one wins.
- "apps" (optional) are Android package names.
- A host claimed by two groups goes to the first of search, ai, social; within a group the first entry wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import SplitResult, unquote_plus, urlsplit

MAX_URL_LENGTH = 2048
MAX_FIELD_LENGTH = 255  # names, keywords and UTM values (Matomo's referer_name/keyword are VARCHAR(255))

CAMPAIGN_NAME_PARAMS = ("pk_cpn", "pk_campaign", "piwik_campaign", "mtm_campaign", "matomo_campaign",
                        "utm_campaign", "utm_source", "utm_medium")
CAMPAIGN_KEYWORD_PARAMS = ("pk_kwd", "pk_keyword", "piwik_kwd", "mtm_kwd", "mtm_keyword", "matomo_kwd", "utm_term")
# The UTM report fields, each with Matomo's equivalents as fallbacks so mtm_/pk_-tagged links show up too.
_UTM_SOURCE = ("utm_source", "mtm_source", "pk_source")
_UTM_MEDIUM = ("utm_medium", "mtm_medium", "pk_medium")
_UTM_CAMPAIGN = ("utm_campaign", "mtm_campaign", "matomo_campaign", "pk_campaign", "pk_cpn", "piwik_campaign")
_UTM_TERM = ("utm_term", "mtm_kwd", "mtm_keyword", "matomo_kwd", "pk_kwd", "pk_keyword", "piwik_kwd")
_UTM_CONTENT = ("utm_content", "mtm_content", "pk_content")
_IGNORE_PARAMS = ("ignore_referrer", "ignore_referer")
_LANDING_PARAMS = frozenset((*CAMPAIGN_NAME_PARAMS, *CAMPAIGN_KEYWORD_PARAMS, *_UTM_SOURCE, *_UTM_MEDIUM,
                             *_UTM_CAMPAIGN, *_UTM_TERM, *_UTM_CONTENT))
_PAGE_PARAMS = _LANDING_PARAMS | frozenset(_IGNORE_PARAMS)
_ADWORDS_PARAMS = frozenset(("url", "ad_type"))

# Removed from every stored URL: Matomo's url_query_parameter_to_exclude_from_url default, a few more ad click
# ids and Google cookies-in-URL, and the referrer switches. Campaign parameters stay visible on purpose.
URL_NOISE_PARAMS = frozenset((
    "gclid", "fbclid", "msclkid", "twclid", "wbraid", "gbraid", "yclid", "dclid", "gclsrc", "_ga", "_gl",
    "mc_eid", "fb_xd_fragment", "fb_comment_id", "phpsessid", "jsessionid", "sessionid", "aspsessionid",
    "doing_wp_cron", "sid", "pk_vid", "ignore_referrer", "ignore_referer",
))

# Per-engine tracking/session noise on referrer URLs (the first Google and Bing/Facebook ones are Matomo's).
# Applied to Referrer.url of search and social referrers only: elsewhere the same names can carry meaning.
_GOOGLE_NOISE = frozenset(("ust", "usg", "usd", "sa", "sntz", "ei", "bvm", "ved", "client", "channel", "oq", "aqs",
                           "sourceid", "ie", "oe", "sxsrf", "gs_lcp", "gs_lp", "gs_l", "sclient", "rlz", "uact",
                           "cd", "cad", "rct", "esrc", "source", "biw", "bih", "iflsig"))
_REFERRER_NOISE: dict[str, frozenset[str]] = {
    "Google": _GOOGLE_NOISE,
    "Google Images": _GOOGLE_NOISE,
    "Google News": _GOOGLE_NOISE,
    "Google Scholar": _GOOGLE_NOISE,
    "Bing": frozenset(("cvid", "form", "qs", "sp", "sk", "pq", "sc", "ghsh", "ghacc", "ghpl")),
    "Yahoo": frozenset(("fr", "fr2", "ei")),
    "Yandex": frozenset(("lr", "clid", "msid", "suggest_reqid", "redircnt")),
    "DuckDuckGo": frozenset(("t", "atb", "ia")),
    "Facebook": frozenset(("h", "p", "__tn__", "__cft__[0]", "__xts__[0]")),
    "Instagram": frozenset(("e",)),
    "Threads": frozenset(("e",)),
    "YouTube": frozenset(("event", "redir_token", "si", "feature", "pp")),
    "X (Twitter)": frozenset(("s", "t", "ref_src", "ref_url")),
    "LinkedIn": frozenset(("trk", "trkinfo", "refid", "trackingid", "lipi", "midtoken", "midsig")),
}

# "{tld}" stands for one of these suffixes (see the module docstring).
_TLD_GENERIC = frozenset(("com", "net", "org", "cat"))
_TLD_SECOND_LEVEL = frozenset(("co", "com", "net", "org", "ac", "or", "ne", "go", "gov", "gob", "edu"))
# Letters, digits, "-", "." and ":" (IPv6); \w admits IDN hosts a client sent undecoded. Spaces, quotes, etc. do
# not occur in a real host, so such a referrer is garbage and counts as none.
_HOST = re.compile(r"[\w.:%~-]{1,253}")


@dataclass(frozen=True, slots=True)
class Referrer:
    type: str  # "direct" | "search" | "social" | "website" | "campaign" | "ai"
    name: str  # engine/network name, website host without "www.", lowercased campaign name, "" for direct
    keyword: str  # search keyword when the referrer URL carries it, else the campaign keyword, else ""
    url: str  # the referrer URL without noise parameters, "" for direct
    host: str  # the referrer host (an Android package for app referrers), "" for direct
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str  # lowercased and trimmed
    keyword: str  # lowercased and trimmed, "" when the link has none


@dataclass(frozen=True, slots=True)
class Utm:
    source: str = ""
    medium: str = ""
    campaign: str = ""
    term: str = ""
    content: str = ""


@dataclass(frozen=True, slots=True)
class _Entry:
    type: str  # "search" | "ai" | "social"
    name: str
    params: tuple[str, ...]  # keyword parameters, lowercased
    noise: frozenset[str]  # parameters removed from Referrer.url


@dataclass(frozen=True, slots=True)
class _Source:
    """A usable referrer: an http(s) URL with a host, or an android-app:// URL with a package."""

    url: str
    parts: SplitResult
    host: str
    entry: _Entry | None
    app: bool


_NO_UTM = Utm()
_DIRECT = Referrer("direct", "", "", "", "", "", "", "", "", "")


# ---- public API

def classify_referrer(referrer_url: str, page_url: str, site_hosts: Callable[[str], bool],
                      request_params: Mapping[str, str] | None = None) -> Referrer:
    """Classify the first hit of a visit from its referrer (`urlref`) and landing page (`url`)."""
    page, query, fragment = _page(page_url)
    if (query or fragment) and "1" in (query.get("ignore_referrer"), query.get("ignore_referer"),
                                       fragment.get("ignore_referrer"), fragment.get("ignore_referer")):
        return _DIRECT  # the site asked not to attribute this visit (e.g. the return from a payment provider)
    campaign, utm = _landing(query, fragment, _request_values(request_params))
    source = _source(_text(referrer_url).strip())

    if campaign is None:
        campaign = _adwords_campaign(source)
    if campaign is not None:
        # Matomo's fallbacks: the search keyword of the referrer, then the referrer host, even for a site host.
        keyword = campaign.keyword or _search_keyword(source) or (source.host if source else "")
        return _referrer("campaign", campaign.name, keyword[:MAX_FIELD_LENGTH], source, utm)
    if source is None or _is_internal(source, page, site_hosts):
        return _direct(utm)
    if source.entry is not None:
        return _referrer(source.entry.type, source.entry.name, _search_keyword(source), source, utm)
    name = source.host[4:] if source.host.startswith("www.") else source.host
    return _referrer("website", name[:MAX_FIELD_LENGTH], "", source, utm)


def campaign_from(page_url: str, request_params: Mapping[str, str] | None = None) -> Campaign | None:
    """The campaign a landing URL (and the tracking request's own parameters) carries, if any."""
    _, query, fragment = _page(page_url)
    campaign, _ = _landing(query, fragment, _request_values(request_params))
    return campaign


def utm_from(page_url: str, request_params: Mapping[str, str] | None = None) -> Utm:
    """The UTM fields of a landing URL, with mtm_/pk_ equivalents as fallbacks and request parameters on top."""
    _, query, fragment = _page(page_url)
    _, utm = _landing(query, fragment, _request_values(request_params))
    return utm


def clean_url(url: str, excluded_params: Iterable[str] = ()) -> str:
    """`url` without click ids, session ids and Matomo switches (plus `excluded_params`), otherwise unchanged.

    Parameter names match case-insensitively; the order, encoding and fragment of everything kept stay as sent,
    and a "?" with nothing left after it goes.
    """
    drop = URL_NOISE_PARAMS
    extra = {name.strip().lower() for name in excluded_params if isinstance(name, str) and name.strip()}
    if extra:
        drop = drop | extra
    return _strip_params(_text(url), drop)


# ---- landing page: campaign and UTM

def _landing(query: Mapping[str, str], fragment: Mapping[str, str],
             request: Mapping[str, str]) -> tuple[Campaign | None, Utm]:
    # The first source holding any parameter of a list wins, so a request parameter overrides the URL and the
    # query overrides the fragment (Matomo reads the query, then the fragment, then the request).
    sources = tuple(values for values in (request, query, fragment) if values)
    if not sources:
        return None, _NO_UTM
    utm = Utm(_first(sources, _UTM_SOURCE), _first(sources, _UTM_MEDIUM), _first(sources, _UTM_CAMPAIGN),
              _first(sources, _UTM_TERM), _first(sources, _UTM_CONTENT))
    name = _first(sources, CAMPAIGN_NAME_PARAMS).lower()
    if not name:
        return None, utm
    return Campaign(name, _first(sources, CAMPAIGN_KEYWORD_PARAMS).lower()), utm


def _first(sources: Iterable[Mapping[str, str]], names: tuple[str, ...]) -> str:
    for values in sources:
        for name in names:
            value = values.get(name)
            if value:
                return value
    return ""


def _page(page_url: str) -> tuple[SplitResult | None, dict[str, str], dict[str, str]]:
    """The landing page, and the campaign/UTM/ignore parameters of its query and of its fragment."""
    page = _split(_text(page_url))
    if page is None:
        return None, {}, {}
    return page, _landing_values(page.query), _landing_values(_fragment_query(page.fragment))


def _landing_values(text: str) -> dict[str, str]:
    # Every parameter of interest has an "_" in its name (or an escape for one): most queries need no parsing.
    if "_" not in text and "%" not in text:
        return {}
    return _query_values(text, _PAGE_PARAMS)


def _request_values(params: Mapping[str, str] | None) -> dict[str, str]:
    """The campaign/UTM parameters sent on the tracking request itself, trimmed and capped."""
    if not params:
        return {}
    found: dict[str, str] = {}
    for name in params.keys() & _LANDING_PARAMS:  # a set intersection: no loop over every parameter name
        value = params[name]
        if isinstance(value, str) and (value := _text(value, MAX_FIELD_LENGTH).strip()):
            found[name] = value
    return found


def _fragment_query(fragment: str) -> str:
    # Single-page apps put parameters after a "?" in the hash (#/page?utm_source=x); others use the hash as is.
    return fragment.partition("?")[2] if "?" in fragment else fragment


def _query_values(query: str, wanted: Container[str]) -> dict[str, str]:
    """The first non-empty value of each wanted parameter; names are matched case-insensitively."""
    found: dict[str, str] = {}
    if not query:
        return found
    for part in query.split("&"):
        key, _, value = part.partition("=")
        key = _decode(key).lower()
        if key in wanted and key not in found:
            value = _decode(value).strip()[:MAX_FIELD_LENGTH]
            if value:
                found[key] = value
    return found


def _adwords_campaign(source: _Source | None) -> Campaign | None:
    """Matomo's AdSense/Google Ads case: an ad frame referrer naming the page that showed the ad in `url=`."""
    if source is None or source.app or ("googleads" not in source.host and "doubleclick" not in source.host):
        return None
    values = _query_values(source.parts.query, _ADWORDS_PARAMS)
    target = _split(values.get("url", ""))
    shown_on = _hostname(target) if target else ""
    if not shown_on:
        return None
    ad_type = values.get("ad_type", "")
    name = f"adwords ({ad_type})" if ad_type else "adwords"
    return Campaign(name.lower()[:MAX_FIELD_LENGTH], f"(adwords) {shown_on}"[:MAX_FIELD_LENGTH])


# ---- referrer

def _source(url: str) -> _Source | None:
    if not url:
        return None
    parts = _split(url)
    if parts is None:
        return None
    if parts.scheme in ("http", "https"):
        host = _hostname(parts)
        return _Source(url, parts, host, _lookup_host(host), app=False) if host else None
    if parts.scheme == "android-app":
        package = _hostname(parts)
        return _Source(url, parts, package, _APPS.get(package), app=True) if package else None
    return None  # about:, file:, chrome-extension:, a bare host name ...: no usable referrer


def _is_internal(source: _Source, page: SplitResult | None, site_hosts: Callable[[str], bool]) -> bool:
    if source.app:
        return False  # a package name is not a host of any site
    page_host = _hostname(page) if page else ""
    return _strip_www(source.host) == _strip_www(page_host) or site_hosts(source.host)


def _search_keyword(source: _Source | None) -> str:
    if source is None or source.entry is None or not source.entry.params:
        return ""
    params = source.entry.params
    # Some engines put the query in the fragment (Google's instant search used #q=).
    for text in (source.parts.query, _fragment_query(source.parts.fragment)):
        values = _query_values(text, params)
        for name in params:
            if values.get(name):
                return values[name].lower()
    return ""


def _referrer(kind: str, name: str, keyword: str, source: _Source | None, utm: Utm) -> Referrer:
    url = host = ""
    if source is not None:
        entry = source.entry
        noise = entry.noise if entry is not None and entry.type in ("search", "social") else URL_NOISE_PARAMS
        url, host = _strip_params(source.url, noise), source.host
    return Referrer(kind, name, keyword, url, host, utm.source, utm.medium, utm.campaign, utm.term, utm.content)


def _direct(utm: Utm) -> Referrer:
    if utm is _NO_UTM:
        return _DIRECT
    return Referrer("direct", "", "", "", "", utm.source, utm.medium, utm.campaign, utm.term, utm.content)


# ---- host matching

@lru_cache(maxsize=8192)
def _lookup_host(host: str) -> _Entry | None:
    """The search engine, AI assistant or social network of `host`: a few dict probes, most specific first."""
    for pattern in _host_patterns(_strip_prefix(host)):
        entry = _HOSTS.get(pattern)
        if entry is not None:
            return entry
    return None


def _host_patterns(host: str) -> Iterator[str]:
    """The data-file keys that can match `host`: itself, its {tld} forms, then *. parents, nearest first."""
    yield host
    yield from _tld_forms(host)
    labels = host.split(".")
    for start in range(1, len(labels) - 1):
        parent = ".".join(labels[start:])
        yield "*." + parent
        for form in _tld_forms(parent):
            yield "*." + form


def _tld_forms(host: str) -> Iterator[str]:
    """`host` with its top-level suffix written as {tld}: google.de -> google.{tld}, google.co.uk -> google.{tld}."""
    head, _, last = host.rpartition(".")
    if not head:
        return
    country = len(last) == 2 and last.isascii() and last.isalpha()
    if country or last in _TLD_GENERIC:
        yield head + ".{tld}"
    if country:
        rest, _, second = head.rpartition(".")
        if rest and second in _TLD_SECOND_LEVEL:
            yield rest + ".{tld}"


def _strip_prefix(host: str) -> str:
    # "www." and "m." (mobile) name the same service; keep them when only a bare TLD would remain (m.me).
    for prefix in ("www.", "m."):
        if host.startswith(prefix) and "." in host[len(prefix):]:
            return host[len(prefix):]
    return host


def _strip_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _pattern_key(pattern: str) -> str:
    """The dict key of a data-file host pattern; raises ValueError on a pattern the matcher cannot honour."""
    key = _strip_prefix(pattern.strip().lower().rstrip("."))
    body = key[2:] if key.startswith("*.") else key
    body = body.removesuffix(".{tld}") + ".tld" if body.endswith(".{tld}") else body
    if "." not in key or not _HOST.fullmatch(body) or "*" in body or "{" in body:
        raise ValueError(f"referrers.json: unusable host pattern {pattern!r}")
    return key


def _build(data: Mapping[str, Any]) -> tuple[dict[str, _Entry], dict[str, _Entry]]:
    hosts: dict[str, _Entry] = {}
    apps: dict[str, _Entry] = {}
    for group in ("search", "ai", "social"):  # Matomo tries search engines before social networks
        for item in data.get(group, ()):
            name = str(item["name"])
            params = tuple(str(param).lower() for param in item.get("params", ()))
            entry = _Entry(group, name, params, URL_NOISE_PARAMS | _REFERRER_NOISE.get(name, frozenset()))
            for pattern in item["hosts"]:
                hosts.setdefault(_pattern_key(pattern), entry)
            for package in item.get("apps", ()):
                apps.setdefault(package.lower(), entry)
    return hosts, apps


def _load() -> dict[str, Any]:
    text = files("ingest").joinpath("data/referrers.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


_HOSTS, _APPS = _build(_load())


# ---- URL helpers

def _text(value: object, limit: int = MAX_URL_LENGTH) -> str:
    """`value` capped, as valid UTF-8 text: a JSON body can smuggle in lone surrogates, which storage rejects."""
    if not isinstance(value, str):
        return ""
    value = value[:limit]
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _split(url: str) -> SplitResult | None:
    if not url:
        return None
    try:
        return urlsplit(url)
    except ValueError:  # "http://[::1", "http://exa\uff03mple" (NFKC would change the netloc) ...
        return None


def _hostname(parts: SplitResult) -> str:
    return _netloc_host(parts.netloc)


@lru_cache(maxsize=8192)
def _netloc_host(netloc: str) -> str:
    """SplitResult.hostname (user info, brackets and port dropped, lowercased), validated, cached per netloc."""
    host = netloc.rpartition("@")[2]
    host = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    host = host.lower().rstrip(".")
    return host if _HOST.fullmatch(host) else ""


def _decode(text: str) -> str:
    # unquote_plus replaces undecodable bytes (non-UTF-8 escapes) with U+FFFD instead of raising.
    return unquote_plus(text) if "%" in text or "+" in text else text


def _strip_params(url: str, drop: frozenset[str]) -> str:
    query_at = url.find("?")
    if query_at < 0:
        return url
    hash_at = url.find("#")
    if 0 <= hash_at < query_at:
        return url  # the "?" belongs to the fragment
    end = hash_at if hash_at >= 0 else len(url)
    parts = url[query_at + 1:end].split("&")
    kept = [part for part in parts if _decode(part.partition("=")[0]).lower() not in drop]
    if len(kept) == len(parts) and any(parts):
        return url  # nothing removed: keep the URL byte for byte
    query = "&".join(part for part in kept if part)
    return url[:query_at] + ("?" + query if query else "") + url[end:]
