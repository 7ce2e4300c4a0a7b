"""Bot, prefetch and referrer-spam detection, and the per-site exclusion helpers (Matomo semantics).

`bot_reason` returns a short reason code, or None for a request that looks human. Checks, first match wins:

- ``bot_empty_ua``: no User-Agent, or only blanks. Matomo keeps such hits (its DeviceDetector finds no bot);
  Plausible drops them. Every browser sends a User-Agent, so an empty one is a script: we drop it.
- ``prefetch``: the request is a prefetch, prerender or preview, not a page someone sees (see `is_prefetch`).
  Matomo checks this even with ``bots=1``, so callers that honour ``bots=1`` should still call `is_prefetch`.
- ``headless``: automation markers in the UA (HeadlessChrome, PhantomJS, Puppeteer, Playwright, Selenium,
  Electron, ...). ``navigator.webdriver`` is invisible to a server, so a headless browser that fakes a normal
  UA passes.
- ``bot_ua_parser``: the `user-agents` / ua-parser library says bot.
- ``bot_crawler_list``: one of the ~1,500 patterns of the `crawler-user-agents` package matches.
- ``bot_headers`` (only with ``check_headers=True``): a UA that claims to be a browser (``Mozilla/``) on a
  request without ``Accept-Language``. Browsers send that header on every request, beacons and tracking
  pixels included; HTTP libraries and many headless setups do not (Pirsch uses the same heuristic). It is off
  by default because it must only run when the UA came from the request's own headers: with server-side
  tracking (the ``ua`` parameter, or a proxy forwarding hits) the headers belong to the proxy.

The crawler patterns are case-sensitive regexes (the package's own default). Compiled as a single
alternation, Python's `re` spends ~0.5 ms per UA trying 1,500 branches at every position; the package's own
`is_crawler` (chunks of 25) ~0.18 ms. So the patterns are compiled once at import into: a trie-shaped regex of
the literal patterns (one branch per first character), a trie for the ``^literal`` ones matched at position
0, a tuple of ``literal$`` suffixes, and one regex for the few genuinely irregular patterns. Character
classes and small alternations (``[wW]get``, ``Ahrefs(Bot|SiteAudit)``) are expanded into literals first.
tests/test_bots.py checks that the result agrees with ``crawleruseragents.is_crawler`` on every example the
package ships.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import product
from pathlib import Path

import crawleruseragents

from ingest.useragent import MAX_USER_AGENT_LENGTH, parse_user_agent

try:  # private modules of `re`, used only to expand simple patterns into literals; without them all stay regexes
    from re import _constants as c
    from re import _parser
except ImportError:  # pragma: no cover
    c = _parser = None

# ---------------------------------------------------------------------------------------------------------------
# crawler-user-agents, compiled once

_BEGIN, _END = "\x00", "\x01"  # anchor sentinels inside expanded patterns
_MAX_EXPANSIONS = 64


def _expand(pattern: str) -> list[str] | None:
    """All the strings a finite, literal-only pattern matches, with ^ and $ as sentinels; None if not that simple."""
    if _parser is None or c is None:
        return None
    try:
        parsed = _parser.parse(pattern)
    except Exception:
        return None
    if parsed.state.flags & ~c.SRE_FLAG_UNICODE:  # inline flags such as (?i): not a plain literal
        return None

    def expand(items) -> list[str] | None:
        results = [""]
        for op, arg in items:
            if op is c.LITERAL:
                options = [chr(arg)]
            elif op is c.IN and all(kind is c.LITERAL for kind, _ in arg):
                options = [chr(value) for _, value in arg]
            elif op is c.SUBPATTERN and not arg[1] and not arg[2]:
                options = expand(arg[3])
            elif op is c.BRANCH:
                options = []
                for branch in arg[1]:
                    expanded = expand(branch)
                    if expanded is None:
                        return None
                    options.extend(expanded)
            elif op is c.AT and arg is c.AT_BEGINNING:
                options = [_BEGIN]
            elif op is c.AT and arg is c.AT_END:
                options = [_END]
            else:
                return None
            if options is None or len(results) * len(options) > _MAX_EXPANSIONS:
                return None
            results = [head + tail for head, tail in product(results, options)]
        return results

    try:
        return expand(parsed)
    except Exception:
        return None


def _trie_regex(words: Sequence[str]) -> str:
    """A regex matching any of `words`, factored by common prefixes; a word that extends another is dropped."""
    root: dict = {}
    for word in sorted(set(words), key=len):
        node = root
        for char in word:
            if "" in node:  # a shorter word already matches here
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = True

    def emit(node: dict) -> str:
        if "" in node:
            return ""
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root) if root else "(?!)"


def _compile_crawlers(patterns: Sequence[str]):
    contains: list[str] = []
    prefixes: list[str] = []
    suffixes: list[str] = []
    irregular: list[str] = []
    for pattern in patterns:
        expanded = _expand(pattern)
        if expanded is None:
            irregular.append(pattern)
            continue
        for text in expanded:
            begins, ends = text.startswith(_BEGIN), text.endswith(_END)
            core = text[int(begins) : len(text) - int(ends)]
            if _BEGIN in core or _END in core or not core:
                irregular.append(pattern)
                break
        else:
            for text in expanded:
                begins, ends = text.startswith(_BEGIN), text.endswith(_END)
                core = text[int(begins) : len(text) - int(ends)]
                if begins and ends:
                    irregular.append("^" + re.escape(core) + "$")
                elif begins:
                    prefixes.append(core)
                elif ends:
                    suffixes.append(core)
                else:
                    contains.append(core)
    return (
        re.compile(_trie_regex(contains)),
        re.compile(_trie_regex(prefixes)),
        tuple(sorted(set(suffixes))),
        _combined(irregular),
    )


def _combined(patterns: Sequence[str]) -> re.Pattern[str]:
    """One alternation of `patterns`; a pattern that does not compile as a group (bad syntax, or global inline
    flags, which are only allowed at the very start) is left out rather than breaking the import."""
    valid = []
    for pattern in patterns:
        try:
            re.compile(f"(?:{pattern})")
        except re.error:
            continue
        valid.append(f"(?:{pattern})")
    return re.compile("|".join(valid) or "(?!)")


_CRAWLER_PATTERNS = [entry["pattern"] for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA]
_CONTAINS, _PREFIX, _SUFFIXES, _IRREGULAR = _compile_crawlers(_CRAWLER_PATTERNS)


def is_listed_crawler(user_agent: str) -> bool:
    """True if any crawler-user-agents pattern matches (case-sensitive, like ``crawleruseragents.is_crawler``)."""
    text = user_agent[:MAX_USER_AGENT_LENGTH]
    return bool(
        _CONTAINS.search(text)
        or _PREFIX.match(text)
        or (_SUFFIXES and text.endswith(_SUFFIXES))
        or _IRREGULAR.search(text)
    )


# ---------------------------------------------------------------------------------------------------------------
# bots

_HEADLESS_MARKERS = (
    "headlesschrome",
    "phantomjs",
    "slimerjs",
    "electron/",  # also flagged by ingest.useragent; desktop apps embed it too, but so do scrapers
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "htmlunit",
    "jsdom/",
    "cypress/",
    "nightmare",
)


@lru_cache(maxsize=20_000)
def _user_agent_reason(user_agent: str) -> str | None:
    # `user_agent` is already cut to MAX_USER_AGENT_LENGTH, which bounds the cache's memory.
    lowered = user_agent.lower()
    if any(marker in lowered for marker in _HEADLESS_MARKERS):
        return "headless"
    if parse_user_agent(user_agent).is_bot:
        return "bot_ua_parser"
    if is_listed_crawler(user_agent):
        return "bot_crawler_list"
    return None


def _tokens(value: str) -> set[str]:
    return {token.strip().strip('"').lower() for token in re.split(r"[,;]", value[:200])}


_PREFETCH_HEADERS = (
    ("sec-purpose", frozenset({"prefetch", "prerender"})),
    ("purpose", frozenset({"prefetch", "preview"})),
    ("x-purpose", frozenset({"preview", "instant", "prefetch"})),
    ("x-moz", frozenset({"prefetch"})),
)


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """The request is a prefetch, prerender or preview rather than a page view; `headers` keys are lower-case.

    Matomo drops ``X-Purpose: preview|instant`` (Safari Top Sites, old Chrome instant) and ``X-Moz: prefetch``
    (Firefox). We also drop ``Purpose: prefetch`` (older Chrome, Firefox) and any ``Sec-Purpose`` naming
    ``prefetch`` or ``prerender`` (Chrome's speculation rules), ``prefetch;prerender`` included: a tracking
    request that a prerendered page sends before it is activated is a view nobody saw, and after activation
    the browser no longer sends the header.
    """
    for name, values in _PREFETCH_HEADERS:
        value = headers.get(name)
        if value and not _tokens(value).isdisjoint(values):
            return True
    return False


def bot_reason(user_agent: str, headers: Mapping[str, str], *, check_headers: bool = False) -> str | None:
    """Why this request is not a human page view, as a short code (see the module docstring), or None.

    `user_agent` is the effective UA (the ``ua`` parameter or the header); `headers` keys are lower-case.
    """
    if not user_agent.strip():
        return "bot_empty_ua"
    if is_prefetch(headers):
        return "prefetch"
    reason = _user_agent_reason(user_agent[:MAX_USER_AGENT_LENGTH])
    if reason is not None:
        return reason
    if check_headers and user_agent.startswith("Mozilla/") and not headers.get("accept-language", "").strip():
        return "bot_headers"
    return None


# ---------------------------------------------------------------------------------------------------------------
# referrer spam

_SPAM_FILE = Path(__file__).with_name("data") / "referrer_spam.txt"


def _load_spam_hosts(path: Path) -> frozenset[str]:
    hosts = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        host = line.split("#", 1)[0].strip().lower().rstrip(".")
        if host:
            hosts.add(host)
    return frozenset(hosts)


REFERRER_SPAM_HOSTS = _load_spam_hosts(_SPAM_FILE)


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.count(":") == 1:  # host:port; IPv6 literals have more colons and are never on the list
        host = host.split(":", 1)[0]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return host


def is_referrer_spam(referrer_host: str) -> bool:
    """True if the host, or any parent domain of it, is on the referrer-spam list (``x.semalt.com`` matches)."""
    host = _normalise_host(referrer_host[:253])
    if not host:
        return False
    labels = host.split(".")
    return any(".".join(labels[index:]) in REFERRER_SPAM_HOSTS for index in range(len(labels)))


# ---------------------------------------------------------------------------------------------------------------
# per-site exclusions

_REGEX_ENTRY = re.compile(r"^/(.+)/([imsx]*)$", re.DOTALL)
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@lru_cache(maxsize=1024)
def _entry_regex(entry: str) -> re.Pattern[str] | None:
    match = _REGEX_ENTRY.match(entry)
    if match is None:
        return None
    flags = 0
    for letter in match.group(2):
        flags |= _REGEX_FLAGS[letter]
    try:
        return re.compile(match.group(1), flags)
    except (re.error, RecursionError, OverflowError):
        return None


def excluded_by_user_agent(user_agent: str, patterns: Sequence[str]) -> bool:
    """Matomo's excluded user agents: an entry matches as a case-insensitive substring of the UA; an entry
    written as a delimited regex, ``/pattern/`` with optional flags from ``imsx`` (PCRE style, so case-
    sensitive unless ``/i``), also matches when the regex finds a match. Only ``/`` is accepted as delimiter;
    an entry that does not compile stays a plain substring. Blank entries never match.
    """
    text = user_agent[:MAX_USER_AGENT_LENGTH]
    lowered = text.lower()
    for entry in patterns:
        if not entry or not entry.strip():
            continue
        if entry.lower() in lowered:
            return True
        regex = _entry_regex(entry)
        if regex is not None and regex.search(text):
            return True
    return False
