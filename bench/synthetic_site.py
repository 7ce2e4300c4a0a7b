"""A large, realistic site generated inside ClickHouse: `events` and `sessions` rows for one site over 90 days.

Ten million hits do not fit through the Python ingest path in reasonable time (about 2,250 hits/s, see
BENCHMARKS.md section 1: 75 minutes of wall time, longer on a shared machine), so the rows are made by
`INSERT … SELECT FROM numbers()` straight into Teller's own tables. What the dashboard reads is the same as
after ingest: the same tables, columns, sort keys, partitions and TTLs (created by ingest.migrations), one
site made by ingest.sites.SiteRegistry, and, after OPTIMIZE TABLE … FINAL, the same parts a long-running
server's merges end with. `sessions` gets one +1 row per visit, which is what VersionedCollapsingMergeTree
leaves once it has collapsed each visit's -1/+1 pairs.

Every random choice is a hash of the visit (or visitor, or hit) number, so a given `--hits` always gives the
same rows. The shape:

- Visits: 47% bounce (one hit), the rest 2 + a geometric number of hits (mean ~2.5 hits per visit overall);
  the gaps between hits are exponential (mean ~70 s, under the 30-minute timeout), and no visit crosses the
  site-local midnight. About 65% of visits are a visitor's only visit, the rest come from a pool of returning
  visitors (≈0.75 visitors per visit: ~3M visitors and ~4M visits for 10M hits).
- Days: a slow upward trend, weekends at ~70%, ±8% noise; today only up to the generation time. Time of day
  follows a daily curve in the site's timezone (night trough, office-hours plateau, evening peak).
- Pages: 5,000 paths (24 named top pages, then blog posts, products, help and docs pages), Zipf-like
  (log-uniform rank: "/" gets ~8% of page views); landing pages are more concentrated than later pages.
- Actions after the first page view: 78% page views, 10% events (8 categories, their actions, ~400 names, a
  value on 30%), 4% site searches (~3,000 keywords), 3% outlinks, 1.5% downloads, 2% goals (4 goals, one
  with revenue), 0.5% ecommerce orders (revenue, tax, shipping, items). Page views carry pf_* timings
  (92%; -1 otherwise, as the pipeline stores a missing timing).
- Sources per visit: direct 30%, search 42% (Google, Bing, DuckDuckGo, ...), social 8%, other websites 11%
  (1,500 hosts, Zipf), campaigns 7% (24 utm_source/medium/campaign combinations), AI assistants 2%.
- Visitors: country, region and city (real cities of the main countries plus ~400 generated towns per
  country), one of 22 device/browser/OS profiles with weighted versions, models and screen sizes, language,
  a masked IPv4 address; the same for every visit of a visitor. local_hour is the site-local hour shifted by
  the visitor's timezone.
- Not generated (empty, as on most sites): custom dimensions and variables, user ids, content tracking,
  product views, the _pk_ref attribution columns. Bots are not stored (is_bot = 0); dropped hits are counted
  per day in `dropped_hits` as the pipeline would.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from ingest.sites import Site
from ingest.store import Store

SCRATCH = "teller_bench_scratch"  # a database of the same engine for the intermediate visit table
HOSTNAME = "www.example.com"
DAYS = 90
HITS_PER_VISIT = 2.53  # the mean of the hit-count distribution below
NEW_VISITOR_SHARE = 0.65  # visits that are their visitor's only visit
RETURNING_POOL = 0.12  # returning visitors, as a share of visits
PAGES = 5000

# --- catalogues (constants of the generation SQL) -------------------------------------------------------

WORDS = (
    "bike", "city", "electric", "cargo", "repair", "winter", "summer", "tyre", "chain", "brake", "saddle", "light",
    "helmet", "lock", "pump", "frame", "wheel", "gear", "battery", "motor", "range", "commute", "family", "kids",
    "trail", "gravel", "road", "touring", "folding", "urban", "classic", "sport", "comfort", "lightweight",
    "carbon", "steel", "aluminium", "service", "maintenance", "guide", "review", "test", "compare", "best",
    "cheap", "premium", "lease", "rent", "insurance", "warranty", "delivery", "pickup", "store", "amsterdam",
    "rotterdam", "utrecht", "holland", "dutch", "rain", "wind", "cold", "dark", "night", "morning", "school",
    "work", "weekend", "holiday", "route", "map", "app", "phone", "holder", "bag", "basket", "rack", "seat",
    "child", "trailer", "dog", "mirror", "bell", "fender", "stand", "grip", "pedal", "crank", "cassette",
    "derailleur", "hub", "spoke", "rim", "tube", "valve", "patch", "oil", "clean", "wash", "storage", "garage",
    "theft", "safety", "visibility", "reflector", "jacket", "gloves", "shoes", "socks", "trousers", "poncho",
    "fit", "size", "height", "posture", "knee", "back", "health", "fitness", "calories", "speed", "distance",
    "charge", "charging", "cable", "display", "sensor", "torque", "cadence", "assist", "mode", "update",
    "software", "connect", "bluetooth", "tracker", "gps", "alarm", "parking", "ferry", "train", "bus", "car",
    "costs", "price", "budget", "deal", "sale", "discount", "voucher", "gift", "card", "subsidy", "tax", "green",
    "climate", "sustainable", "second", "hand", "used", "refurbished", "new", "model", "year", "collection",
    "brand", "gazelle", "batavus", "sparta", "cortina", "vanmoof", "cube", "trek", "giant", "specialized",
    "shimano", "bosch", "yamaha", "bafang", "gates", "belt", "internal", "nexus", "rohloff", "disc", "hydraulic",
    "rim-brake", "coaster", "tips", "tricks", "howto", "faq", "news", "event", "workshop", "course", "tour",
    "group", "club", "team", "race", "marathon", "challenge", "story", "interview", "customer", "mechanic",
)
TOP_PAGES = (
    ("/", "Example Bikes | City bikes, e-bikes and repair"), ("/pricing", "Prices and lease plans"),
    ("/products", "All bikes"), ("/blog", "Blog"), ("/contact", "Contact"), ("/about", "About us"),
    ("/products/e-bikes", "E-bikes"), ("/products/city-bikes", "City bikes"), ("/cart", "Shopping cart"),
    ("/checkout", "Checkout"), ("/login", "Log in"), ("/signup", "Create an account"), ("/faq", "FAQ"),
    ("/help", "Help centre"), ("/products/accessories", "Accessories"), ("/blog/winter-cycling-tips",
    "Winter cycling tips"), ("/jobs", "Jobs"), ("/stores", "Our stores"), ("/products/kids-bikes", "Kids bikes"),
    ("/services/repair", "Repair service"), ("/newsletter", "Newsletter"), ("/privacy", "Privacy policy"),
    ("/terms", "Terms and conditions"), ("/docs", "Documentation"),
)
# The page of the action filter: the most viewed page after the home page.
POPULAR_PAGE = TOP_PAGES[1][0]
HOUR_WEIGHTS = (1.2, 0.7, 0.45, 0.35, 0.35, 0.5, 1.2, 2.6, 4.0, 5.0, 5.4, 5.5, 5.3, 5.4, 5.5, 5.4, 5.2, 5.0, 4.7,
                5.2, 5.8, 5.5, 4.0, 2.4)  # site-local hours 0..23
WEEKDAY_FACTORS = (1.05, 1.08, 1.06, 1.04, 0.95, 0.72, 0.70)  # Monday..Sunday
ACTIONS = (("event", 0.10), ("site_search", 0.04), ("outlink", 0.03), ("download", 0.015), ("goal", 0.02),
           ("ecommerce_order", 0.005))  # the rest of the hits after a visit's first are page views
CHANNELS = (("direct", 0.30), ("search", 0.42), ("social", 0.08), ("website", 0.11), ("campaign", 0.07),
            ("ai", 0.02))
SEARCH_ENGINES = (("Google", "www.google.com", 0.55), ("Google", "www.google.nl", 0.20), ("Google", "www.google.de",
                  0.08), ("Bing", "www.bing.com", 0.07), ("DuckDuckGo", "duckduckgo.com", 0.04),
                  ("Ecosia", "www.ecosia.org", 0.03), ("Yahoo!", "search.yahoo.com", 0.02),
                  ("Qwant", "www.qwant.com", 0.01))
SOCIAL = (("Facebook", "l.facebook.com", 0.30), ("Facebook", "m.facebook.com", 0.12), ("Instagram",
          "l.instagram.com", 0.18), ("LinkedIn", "www.linkedin.com", 0.12), ("Twitter", "t.co", 0.08),
          ("Reddit", "www.reddit.com", 0.07), ("YouTube", "www.youtube.com", 0.07), ("Pinterest", "nl.pinterest.com",
          0.04), ("Mastodon", "mastodon.social", 0.02))
AI_ASSISTANTS = (("ChatGPT", "chatgpt.com", 0.62), ("Perplexity", "www.perplexity.ai", 0.15),
                 ("Gemini", "gemini.google.com", 0.10), ("Copilot", "copilot.microsoft.com", 0.08),
                 ("Claude", "claude.ai", 0.05))
TLDS = ("nl", "nl", "nl", "com", "com", "de", "be", "org", "net", "eu", "co.uk", "fr", "io")
# (utm_source, utm_medium, utm_campaign, utm_term, referrer host)
CAMPAIGNS = (
    ("newsletter", "email", "November-Sale", "", ""), ("newsletter", "email", "Weekly-Digest", "", ""),
    ("newsletter", "email", "Winter-Checkup", "", ""), ("google", "cpc", "Brand", "example bikes", "www.google.com"),
    ("google", "cpc", "E-bikes-NL", "e-bike kopen", "www.google.com"),
    ("google", "cpc", "E-bikes-NL", "elektrische fiets", "www.google.nl"),
    ("google", "cpc", "Repair", "fiets reparatie", "www.google.nl"),
    ("facebook", "paid_social", "Black-Friday-2026", "", "l.facebook.com"),
    ("facebook", "paid_social", "Retargeting", "", "l.facebook.com"),
    ("instagram", "paid_social", "Black-Friday-2026", "", "l.instagram.com"),
    ("linkedin", "paid_social", "Lease-B2B", "", "www.linkedin.com"),
    ("bing", "cpc", "Brand", "example bikes", "www.bing.com"),
    ("partner", "referral", "Bike-Fair-2026", "", "www.bikefair.nl"),
    ("youtube", "video", "Cargo-Review", "", "www.youtube.com"), ("newsletter", "email", "Spring-Preview", "", ""),
    ("google", "display", "Retargeting", "", "googleads.g.doubleclick.net"),
    ("tiktok", "paid_social", "Commute-Challenge", "", "www.tiktok.com"),
    ("affiliate", "affiliate", "Kieskeurig", "", "www.kieskeurig.nl"),
    ("affiliate", "affiliate", "Tweakers", "", "tweakers.net"), ("sms", "sms", "Service-Reminder", "", ""),
    ("qr", "offline", "Store-Flyer", "", ""), ("podcast", "audio", "Fietscast", "", ""),
    ("google", "cpc", "Cargo-Bikes", "bakfiets", "www.google.nl"), ("newsletter", "email", "Lease-Update", "", ""),
)
EVENT_CATEGORIES = (("Video", ("Play", "Pause", "Complete", "Progress 50%"), 0.22), ("Form", ("Start", "Submit",
                    "Error"), 0.18), ("CTA", ("Click",), 0.16), ("Product", ("Add to wishlist", "Compare", "Zoom"),
                    0.14), ("Carousel", ("Next", "Previous"), 0.10), ("Share", ("Facebook", "WhatsApp", "Email",
                    "Copy link"), 0.08), ("Newsletter", ("Subscribe", "Unsubscribe"), 0.07), ("Chat", ("Open",
                    "Message"), 0.05))
GOALS = ((1, 0.40, 0.0), (2, 0.30, 0.0), (3, 0.20, 25.0), (4, 0.10, 0.0))  # id, share, revenue
# (device type, browser, os, brand, browser versions (newest first), os versions, models, screens, weight)
PROFILES = (
    ("desktop", "Chrome", "Windows", "", ("131", "130", "129", "128", "127", "126"), ("10",), ("",),
     ("1920x1080", "1536x864", "2560x1440", "1366x768", "1280x720"), 0.20),
    ("desktop", "Edge", "Windows", "", ("131", "130", "129", "128"), ("10",), ("",), ("1920x1080", "1536x864",
     "1280x720"), 0.07),
    ("desktop", "Firefox", "Windows", "", ("133", "132", "131", "128", "115"), ("10",), ("",), ("1920x1080",
     "1536x864", "2560x1440"), 0.035),
    ("desktop", "Opera", "Windows", "", ("114", "113", "112"), ("10",), ("",), ("1920x1080", "1366x768"), 0.008),
    ("desktop", "Chrome", "Mac OS X", "Apple", ("131", "130", "129", "128"), ("10.15",), ("Mac",), ("1440x900",
     "1512x982", "1728x1117", "2560x1440", "1920x1080"), 0.06),
    ("desktop", "Safari", "Mac OS X", "Apple", ("18", "17", "16"), ("10.15",), ("Mac",), ("1440x900", "1512x982",
     "1728x1117", "1680x1050"), 0.05),
    ("desktop", "Firefox", "Mac OS X", "Apple", ("133", "132", "131"), ("10.15",), ("Mac",), ("1440x900",
     "1512x982"), 0.01),
    ("desktop", "Chrome", "Linux", "", ("131", "130", "129"), ("",), ("",), ("1920x1080", "2560x1440"), 0.015),
    ("desktop", "Firefox", "Ubuntu", "", ("133", "132", "128"), ("",), ("",), ("1920x1080",), 0.008),
    ("desktop", "Chrome", "Chrome OS", "", ("131", "130"), ("14541", "14695"), ("",), ("1366x768", "1536x864"),
     0.008),
    ("smartphone", "Mobile Safari", "iOS", "Apple", ("18", "17", "16"), ("18.1", "18.0", "17.6", "17.5", "16.7"),
     ("iPhone",), ("390x844", "393x852", "430x932", "414x896", "375x667", "428x926"), 0.17),
    ("smartphone", "Chrome Mobile iOS", "iOS", "Apple", ("131", "130"), ("18.1", "17.6"), ("iPhone",),
     ("390x844", "393x852"), 0.02),
    ("smartphone", "Chrome Mobile", "Android", "Samsung", ("131", "130", "129", "128"), ("14", "13", "12"),
     ("SM-S921B", "SM-A546B", "SM-A256B", "SM-S911B", "SM-G991B", "SM-A346B"), ("412x915", "384x854", "360x800"),
     0.12),
    ("smartphone", "Samsung Internet", "Android", "Samsung", ("26", "25", "24"), ("14", "13"), ("SM-A546B",
     "SM-S921B", "SM-A145R"), ("384x854", "360x780"), 0.04),
    ("smartphone", "Chrome Mobile", "Android", "Google", ("131", "130"), ("15", "14"), ("Pixel 8", "Pixel 7a",
     "Pixel 9"), ("412x915", "393x851"), 0.03),
    ("smartphone", "Chrome Mobile", "Android", "Xiaomi", ("131", "130", "128"), ("14", "13"), ("Redmi Note 13",
     "Redmi Note 12", "POCO X6"), ("393x873", "360x800"), 0.02),
    ("smartphone", "Chrome Mobile", "Android", "OnePlus", ("131", "130"), ("14",), ("CPH2581", "CPH2449"),
     ("412x919",), 0.008),
    ("smartphone", "Firefox Mobile", "Android", "", ("133", "132"), ("14", "13"), ("",), ("412x915",), 0.006),
    ("smartphone", "Facebook", "iOS", "Apple", ("489", "488"), ("18.1", "17.6"), ("iPhone",), ("390x844",), 0.008),
    ("tablet", "Mobile Safari", "iOS", "Apple", ("18", "17"), ("18.1", "17.6"), ("iPad",), ("820x1180", "810x1080",
     "1024x1366"), 0.03),
    ("tablet", "Chrome", "Android", "Samsung", ("131", "130"), ("14", "13"), ("SM-X710", "SM-X200"), ("800x1280",
     "1280x800"), 0.015),
    ("other", "", "", "", ("",), ("",), ("",), ("",), 0.005),
)
# (country, region, city, weight); an empty city is a place with only generated towns
PLACES = (
    ("NL", "North Holland", "Amsterdam", 0.10), ("NL", "North Holland", "Haarlem", 0.012), ("NL", "North Holland",
    "Zaandam", 0.007), ("NL", "North Holland", "Alkmaar", 0.006), ("NL", "North Holland", "Hilversum", 0.005),
    ("NL", "South Holland", "Rotterdam", 0.045), ("NL", "South Holland", "The Hague", 0.035), ("NL", "South Holland",
    "Leiden", 0.01), ("NL", "South Holland", "Delft", 0.007), ("NL", "South Holland", "Dordrecht", 0.006),
    ("NL", "Utrecht", "Utrecht", 0.03), ("NL", "Utrecht", "Amersfoort", 0.01), ("NL", "North Brabant", "Eindhoven",
    0.015), ("NL", "North Brabant", "Tilburg", 0.01), ("NL", "North Brabant", "Breda", 0.009), ("NL",
    "North Brabant", "'s-Hertogenbosch", 0.008), ("NL", "Gelderland", "Arnhem", 0.009), ("NL", "Gelderland",
    "Nijmegen", 0.01), ("NL", "Gelderland", "Apeldoorn", 0.007), ("NL", "Groningen", "Groningen", 0.012),
    ("NL", "Overijssel", "Enschede", 0.008), ("NL", "Overijssel", "Zwolle", 0.007), ("NL", "Limburg", "Maastricht",
    0.007), ("NL", "Limburg", "Venlo", 0.004), ("NL", "Friesland", "Leeuwarden", 0.005), ("NL", "Flevoland",
    "Almere", 0.008), ("NL", "Drenthe", "Assen", 0.003), ("NL", "Zeeland", "Middelburg", 0.003),
    ("DE", "Berlin", "Berlin", 0.02), ("DE", "Bavaria", "Munich", 0.012), ("DE", "Bavaria", "Nuremberg", 0.005),
    ("DE", "Hamburg", "Hamburg", 0.01), ("DE", "North Rhine-Westphalia", "Cologne", 0.012), ("DE",
    "North Rhine-Westphalia", "Düsseldorf", 0.01), ("DE", "North Rhine-Westphalia", "Dortmund", 0.006), ("DE",
    "North Rhine-Westphalia", "Essen", 0.005), ("DE", "Hesse", "Frankfurt am Main", 0.01), ("DE",
    "Baden-Württemberg", "Stuttgart", 0.007), ("DE", "Lower Saxony", "Hanover", 0.005),
    ("BE", "Flanders", "Antwerp", 0.025), ("BE", "Flanders", "Ghent", 0.015), ("BE", "Flanders", "Bruges", 0.005),
    ("BE", "Flanders", "Leuven", 0.008), ("BE", "Brussels Capital", "Brussels", 0.018), ("BE", "Wallonia", "Liège",
    0.005),
    ("US", "California", "Los Angeles", 0.008), ("US", "California", "San Francisco", 0.008), ("US", "California",
    "San Jose", 0.004), ("US", "New York", "New York", 0.015), ("US", "Texas", "Houston", 0.004), ("US", "Texas",
    "Dallas", 0.004), ("US", "Texas", "Austin", 0.004), ("US", "Illinois", "Chicago", 0.006), ("US", "Washington",
    "Seattle", 0.005), ("US", "Virginia", "Ashburn", 0.012), ("US", "Florida", "Miami", 0.004),
    ("GB", "England", "London", 0.03), ("GB", "England", "Manchester", 0.006), ("GB", "England", "Birmingham",
    0.005), ("GB", "England", "Leeds", 0.003), ("GB", "England", "Bristol", 0.003), ("GB", "Scotland", "Edinburgh",
    0.003), ("GB", "Scotland", "Glasgow", 0.002),
    ("FR", "Île-de-France", "Paris", 0.025), ("FR", "Auvergne-Rhône-Alpes", "Lyon", 0.007), ("FR",
    "Provence-Alpes-Côte d'Azur", "Marseille", 0.005), ("FR", "Occitanie", "Toulouse", 0.004),
    ("ES", "Madrid", "Madrid", 0.008), ("ES", "Catalonia", "Barcelona", 0.008), ("IT", "Lombardy", "Milan", 0.007),
    ("IT", "Lazio", "Rome", 0.006), ("PL", "Mazovia", "Warsaw", 0.008), ("PL", "Lesser Poland", "Krakow", 0.004),
    ("SE", "Stockholm", "Stockholm", 0.007), ("DK", "Capital Region", "Copenhagen", 0.006), ("CH", "Zurich",
    "Zurich", 0.006), ("AT", "Vienna", "Vienna", 0.006), ("IE", "Leinster", "Dublin", 0.008), ("IN", "Karnataka",
    "Bengaluru", 0.006), ("IN", "Maharashtra", "Mumbai", 0.006), ("CA", "Ontario", "Toronto", 0.006), ("CA",
    "Quebec", "Montreal", 0.003), ("AU", "New South Wales", "Sydney", 0.005), ("BR", "São Paulo", "São Paulo",
    0.004), ("JP", "Tokyo", "Tokyo", 0.003), ("PT", "Lisbon", "Lisbon", 0.003), ("NO", "Oslo", "Oslo", 0.003),
    ("FI", "Uusimaa", "Helsinki", 0.003), ("CZ", "Prague", "Prague", 0.003), ("TR", "Istanbul", "Istanbul", 0.002),
    ("SG", "", "Singapore", 0.003), ("LU", "Luxembourg", "Luxembourg", 0.002), ("", "", "", 0.012),
)
# Countries of PLACES: language of most visitors, hours ahead of Amsterdam
COUNTRY_TRAITS = {
    "NL": ("nl-nl", 0), "DE": ("de-de", 0), "BE": ("nl-be", 0), "US": ("en-us", -7), "GB": ("en-gb", -1),
    "FR": ("fr-fr", 0), "ES": ("es-es", 0), "IT": ("it-it", 0), "PL": ("pl-pl", 0), "SE": ("sv-se", 0),
    "DK": ("da-dk", 0), "CH": ("de-ch", 0), "AT": ("de-at", 0), "IE": ("en-ie", -1), "IN": ("en-in", 4),
    "CA": ("en-ca", -6), "AU": ("en-au", 10), "BR": ("pt-br", -4), "JP": ("ja-jp", 8), "PT": ("pt-pt", -1),
    "NO": ("nb-no", 0), "FI": ("fi-fi", 1), "CZ": ("cs-cz", 0), "TR": ("tr-tr", 2), "SG": ("en-sg", 7),
    "LU": ("fr-lu", 0), "": ("en-us", 0),
}
TOWN_PREFIXES = ("Berg", "Zand", "Hoog", "Noord", "Zuid", "Oost", "West", "Nieuw", "Oud", "Groot", "Klein", "Wester",
                 "Ooster", "Veen", "Water", "Linden", "Eiken", "Beek", "Holt", "Moer", "Brug", "Dijk", "Heide", "Mol",
                 "Stein", "Wald", "Feld", "Lange", "Korte", "Bloem")
TOWN_SUFFIXES = ("dam", "dorp", "hoven", "burg", "wijk", "veen", "horst", "berg", "beek", "stad", "hausen",
                 "heim", "rode", "mond", "zijl", "woude", "loo", "recht", "hout", "kerk")
OTHER_LANGUAGES = ("en-us", "en-gb", "de-de", "en", "fr-fr", "nl")
DOWNLOAD_TYPES = ("pdf", "pdf", "pdf", "zip", "docx", "xlsx", "epub")
CAMPAIGN_CONTENT = ("banner-a", "banner-b", "text-link", "hero", "footer")
SEARCH_CATEGORIES = ("products", "blog", "help")
TIER = 2**64


# --- SQL building blocks ---------------------------------------------------------------------------------


def lit(value: object) -> str:
    """A SQL literal of a catalogue constant (generation SQL may use constants; data values are bound)."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(lit(item) for item in value) + "]"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    raise TypeError(type(value))


def uniform(*parts: object) -> str:
    """A uniform number in (0, 1) from a hash of the parts: the generator's only source of randomness."""
    return f"((cityHash64({', '.join(str(part) for part in parts)}) + 0.5) / {float(TIER)})"


def cumulative(weights: tuple[float, ...] | list[float]) -> list[float]:
    total = sum(weights)
    running = [value / total for value in accumulate(weights)]
    running[-1] = 1.0
    return running


def index_of(weights: tuple[float, ...] | list[float], u: str) -> str:
    """The 1-based index picked by `u` from weights."""
    return f"arrayFirstIndex(x -> x >= {u}, {lit(cumulative(weights))})"


def pick(options: tuple[tuple[str, float], ...], u: str) -> str:
    return f"arrayElement({lit([name for name, _ in options])}, {index_of([w for _, w in options], u)})"


def zipf(count: int, u: str, skew: float = 1.0) -> str:
    """A rank in 1..count with P(rank) ~ 1/rank (log-uniform); skew > 1 puts more weight on the top ranks."""
    power = u if skew == 1.0 else f"pow({u}, {skew})"
    return f"toUInt32(least({count}, floor(pow({count + 1}, {power}))))"


def word(rank: str, tag: int) -> str:
    return f"arrayElement({lit(WORDS)}, 1 + cityHash64({rank}, {tag}) % {len(WORDS)})"


def page_path(rank: str) -> str:
    top = lit([path for path, _ in TOP_PAGES])
    return (f"if({rank} <= {len(TOP_PAGES)}, arrayElement({top}, {rank}), multiIf("
            f"{rank} % 10 < 4, concat('/blog/', {word(rank, 1)}, '-', {word(rank, 2)}, '-', {word(rank, 3)}), "
            f"{rank} % 10 < 7, concat('/products/', {word(rank, 4)}, '/', {word(rank, 5)}, '-', {word(rank, 6)}, "
            f"'-', toString({rank})), "
            f"{rank} % 10 < 9, concat('/help/', {word(rank, 7)}, '-', {word(rank, 8)}), "
            f"concat('/docs/', {word(rank, 9)}, '/', {word(rank, 10)})))")


def page_title(rank: str) -> str:
    top = lit([title for _, title in TOP_PAGES])
    first = word(rank, 1)
    return (f"if({rank} <= {len(TOP_PAGES)}, arrayElement({top}, {rank}), concat(upper(substring({first}, 1, 1)), "
            f"substring({first}, 2), ' ', {word(rank, 2)}, ' ', {word(rank, 3)}, multiIf({rank} % 10 < 4, ' | Blog', "
            f"{rank} % 10 < 7, ' | Shop', ' | Help'), ' | Example Bikes'))")


def website_host(rank: str) -> str:
    return (f"concat(if(cityHash64({rank}, 24) % 10 < 3, 'www.', ''), {word(rank, 21)}, {word(rank, 22)}, '.', "
            f"arrayElement({lit(TLDS)}, 1 + cityHash64({rank}, 23) % {len(TLDS)}))")


# --- the plan: days, weights, counts ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    hits: int
    now: datetime  # UTC, whole seconds; the last hit is before it
    timezone: str
    days: list[date] = field(default_factory=list)  # site-local, oldest first, today last
    midnights: list[int] = field(default_factory=list)  # UTC epoch of each day's local midnight
    available: list[int] = field(default_factory=list)  # seconds of each day that may hold hits
    day_cumulative: list[float] = field(default_factory=list)
    day_scale: list[float] = field(default_factory=list)  # today: the share of the daily curve before now

    @property
    def visits_estimate(self) -> int:
        """More visit numbers than needed; the hit counts are cut off where they add up to `hits`."""
        return int(self.hits / HITS_PER_VISIT * 1.15) + 1000

    @property
    def returning_pool(self) -> int:
        return max(1, int(self.hits / HITS_PER_VISIT * RETURNING_POOL))


def hour_cumulative() -> tuple[list[float], list[float]]:
    ends = cumulative(HOUR_WEIGHTS)
    return ends, [0.0, *ends[:-1]]


def make_plan(hits: int, now: datetime, timezone: str, seed: int = 6) -> Plan:
    zone = ZoneInfo(timezone)
    now = now.astimezone(UTC).replace(microsecond=0)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=DAYS - 1 - index) for index in range(DAYS)]

    def midnight(day: date) -> int:
        return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())

    midnights = [midnight(day) for day in days]
    lengths = [midnight(day + timedelta(days=1)) - start for day, start in zip(days, midnights, strict=True)]
    elapsed = int(now.timestamp()) - midnights[-1]
    available = [*lengths[:-1], elapsed]
    ends, starts = hour_cumulative()
    local = now.astimezone(zone)
    hour = local.hour
    before_now = starts[hour] + (ends[hour] - starts[hour]) * (local.minute * 60 + local.second) / 3600
    rng = random.Random(seed)
    weights = []
    for index, day in enumerate(days):
        weight = (1 + 0.15 * index / (DAYS - 1)) * WEEKDAY_FACTORS[day.weekday()] * rng.uniform(0.92, 1.08)
        weights.append(weight * (before_now if index == DAYS - 1 else 1.0))
    scale = [1.0] * (DAYS - 1) + [max(before_now, 1e-6)]
    return Plan(hits, now, timezone, days, midnights, available, cumulative(weights), scale)


# --- the generation SQL --------------------------------------------------------------------------------------


def visits_sql(plan: Plan) -> str:
    """The scratch table of visits: hit counts (adding up to exactly `hits`), times, actions and pages as
    arrays, source and visitor columns. Bound: hits, day arrays; everything else is a catalogue constant."""
    u = uniform
    ends, starts = hour_cumulative()
    kind = pick((("pageview", 1 - sum(share for _, share in ACTIONS)), *ACTIONS), u("v", "j", 8))
    search_engine, social, assistant = (index_of([item[-1] for item in table], u("v", tag))
                                        for table, tag in ((SEARCH_ENGINES, 13), (SOCIAL, 14), (AI_ASSISTANTS, 15)))
    campaign = index_of([1.0 / (rank + 1) for rank in range(len(CAMPAIGNS))], u("v", 17))
    column = {name: [item[index] for item in CAMPAIGNS] for index, name in enumerate(
        ("source", "medium", "campaign", "term", "host"))}
    place = index_of([item[3] for item in PLACES], u("visitor_num", 20))
    profile = index_of([item[-1] for item in PROFILES], u("visitor_num", 24))

    def by_profile(position: int, tag: int) -> str:
        lists = lit([list(item[position]) for item in PROFILES])
        return (f"arrayElement(arrayElement({lists}, profile), 1 + toUInt32(floor(length(arrayElement({lists}, "
                f"profile)) * pow({u('visitor_num', tag)}, 2))))")

    countries = [item[0] for item in PLACES]
    town_rank = zipf(400, u("visitor_num", 22))
    return f"""
CREATE TABLE {SCRATCH}.visits ENGINE = MergeTree ORDER BY v AS
WITH {lit(ends)} AS hour_end, {lit(starts)} AS hour_start
SELECT
    v,
    toUInt32(least(k0, {{hits:UInt64}} - before)) AS k,
    bitAnd(cityHash64(v, 10), 9223372036854775807) AS visit_id,
    if({u('v', 3)} < {NEW_VISITOR_SHARE}, v, {plan.visits_estimate} + toUInt64(floor({plan.returning_pool}
        * pow({u('v', 4)}, 1.3)))) AS visitor_num,
    cityHash64(visitor_num, 11) AS visitor_id,
    arrayFirstIndex(x -> x >= {u('v', 5)}, {{day_cumulative:Array(Float64)}}) AS day_index,
    {u('v', 6)} * arrayElement({{day_scale:Array(Float64)}}, day_index) AS time_u,
    arrayFirstIndex(x -> x >= time_u, hour_end) AS hour_index,
    toInt64((hour_index - 1) * 3600 + floor((time_u - hour_start[hour_index])
        / (hour_end[hour_index] - hour_start[hour_index]) * 3599)) AS time_of_day,
    arrayCumSum(arrayMap(j -> if(j = 0, 0, toUInt32(4 + least(1700, floor(-log({u('v', 'j', 7)}) * 70)))),
        range(k))) AS offsets,
    arrayElement(offsets, -1) AS duration,
    greatest(0, least(time_of_day, toInt64(arrayElement({{available:Array(UInt32)}}, day_index)) - 1 - duration))
        AS start_second,
    toDateTime(arrayElement({{midnights:Array(UInt32)}}, day_index) + start_second, 'UTC') AS start,
    arrayMap(j -> if(j = 0, 'pageview', {kind}), range(k)) AS kinds,
    arrayFill((r, n) -> n = 'pageview', arrayMap(j -> if(j = 0, {zipf(PAGES, u('v', 0, 9), 1.4)},
        {zipf(PAGES, u('v', 'j', 9))}), range(k)), kinds) AS ranks,
    arrayFill((i, n) -> n = 'pageview', range(k), kinds) AS pageview_index,
    toUInt32(countEqual(kinds, 'pageview')) AS pageviews,
    {pick(CHANNELS, u('v', 12))} AS referrer_type,
    {search_engine} AS search_engine,
    {social} AS social,
    {assistant} AS assistant,
    {zipf(1500, u('v', 16))} AS website,
    {campaign} AS campaign,
    {website_host('website')} AS website_host,
    multiIf(referrer_type = 'search', arrayElement({lit(column_of(SEARCH_ENGINES, 1))}, search_engine),
            referrer_type = 'social', arrayElement({lit(column_of(SOCIAL, 1))}, social),
            referrer_type = 'ai', arrayElement({lit(column_of(AI_ASSISTANTS, 1))}, assistant),
            referrer_type = 'website', website_host,
            referrer_type = 'campaign', arrayElement({lit(column['host'])}, campaign), '') AS referrer_host,
    multiIf(referrer_host = '', '', referrer_type = 'website', concat('https://', referrer_host, '/',
            {word('website', 25)}, '/', {word('v', 26)}), concat('https://', referrer_host, '/')) AS referrer,
    multiIf(referrer_type = 'search', arrayElement({lit(column_of(SEARCH_ENGINES, 0))}, search_engine),
            referrer_type = 'social', arrayElement({lit(column_of(SOCIAL, 0))}, social),
            referrer_type = 'ai', arrayElement({lit(column_of(AI_ASSISTANTS, 0))}, assistant),
            referrer_type = 'website', replaceRegexpOne(website_host, '^www\\\\.', ''),
            referrer_type = 'campaign', lower(arrayElement({lit(column['campaign'])}, campaign)), '') AS referrer_name,
    multiIf(referrer_type = 'search' AND {u('v', 27)} < 0.04, concat({word('v', 28)}, ' ', {word('v', 29)}),
            referrer_type = 'campaign', arrayElement({lit(column['term'])}, campaign), '') AS referrer_keyword,
    if(referrer_type = 'campaign', arrayElement({lit(column['source'])}, campaign), '') AS utm_source,
    if(referrer_type = 'campaign', arrayElement({lit(column['medium'])}, campaign), '') AS utm_medium,
    if(referrer_type = 'campaign', arrayElement({lit(column['campaign'])}, campaign), '') AS utm_campaign,
    if(referrer_type = 'campaign', arrayElement({lit(column['term'])}, campaign), '') AS utm_term,
    if(referrer_type = 'campaign' AND {u('v', 30)} < 0.5,
       arrayElement({lit(CAMPAIGN_CONTENT)}, 1 + cityHash64(v, 31) % {len(CAMPAIGN_CONTENT)}), '') AS utm_content,
    {place} AS place,
    {profile} AS profile,
    arrayElement({lit(countries)}, place) AS country_code,
    arrayElement({lit([item[1] for item in PLACES])}, place) AS region,
    if(arrayElement({lit([item[2] for item in PLACES])}, place) = '' OR {u('visitor_num', 21)} < 0.25,
       if(country_code = '', '', concat(arrayElement({lit(TOWN_PREFIXES)}, 1 + cityHash64(country_code, {town_rank}, 1)
       % {len(TOWN_PREFIXES)}), arrayElement({lit(TOWN_SUFFIXES)}, 1 + cityHash64(country_code, {town_rank}, 2)
       % {len(TOWN_SUFFIXES)}))), arrayElement({lit([item[2] for item in PLACES])}, place)) AS city,
    arrayElement({lit([item[0] for item in PROFILES])}, profile) AS device_type,
    arrayElement({lit([item[1] for item in PROFILES])}, profile) AS browser,
    arrayElement({lit([item[2] for item in PROFILES])}, profile) AS os,
    arrayElement({lit([item[3] for item in PROFILES])}, profile) AS device_brand,
    {by_profile(4, 25)} AS browser_version,
    {by_profile(5, 26)} AS os_version,
    {by_profile(6, 27)} AS device_model,
    {by_profile(7, 28)} AS screen_size,
    if({u('visitor_num', 29)} < 0.85, arrayElement({lit([COUNTRY_TRAITS[code][0] for code in countries])}, place),
       arrayElement({lit(OTHER_LANGUAGES)}, 1 + cityHash64(visitor_num, 30) % {len(OTHER_LANGUAGES)})) AS language,
    toInt8(arrayElement({lit([COUNTRY_TRAITS[code][1] for code in countries])}, place)) AS hours_ahead,
    concat(toString(1 + cityHash64(visitor_num, 31) % 222), '.', toString(cityHash64(visitor_num, 32) % 256),
           '.0.0') AS ip_masked
FROM (
    SELECT number AS v,
           toUInt64(if({u('v', 1)} < 0.47, 1, 2 + least(40, floor(log({u('v', 2)}) / log(0.653))))) AS k0,
           sum(k0) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
    FROM numbers({plan.visits_estimate})
)
WHERE before < {{hits:UInt64}}
"""  # noqa: S608 - constants of this module and bound values only


def column_of(table: tuple[tuple[object, ...], ...], index: int) -> list[object]:
    return [item[index] for item in table]


_ORIGIN = ("referrer", "referrer_host", "referrer_type", "referrer_name", "referrer_keyword", "utm_source",
           "utm_medium", "utm_campaign", "utm_term", "utm_content")
_CLIENT = ("ip_masked", "country_code", "region", "city", "browser", "browser_version", "os", "os_version",
           "device_type", "device_brand", "device_model", "screen_size", "language")


def events_sql(timezone: str) -> str:
    """One row per hit of every visit: ARRAY JOIN over the visit's arrays, then the action's columns."""
    u = uniform
    goal = index_of([share for _, share, _ in GOALS], u("v", "j", 40))
    category = index_of([weight for _, _, weight in EVENT_CATEGORIES], u("v", "j", 31))
    actions = lit([list(item[1]) for item in EVENT_CATEGORIES])
    z = "((" + " + ".join(u("v", "j", tag) for tag in (61, 62, 63, 64)) + " - 2) * 1.7320508)"  # ~N(0, 1)
    timed = f"(kind = 'pageview' AND {u('v', 'j', 60)} < 0.92)"
    columns = ("site_id", "ts", "name", "visitor_id", "visit_id", "pageview_id", "hostname", "pathname", "url",
               "title", "target_url", "event_category", "event_action", "event_name", "event_value",
               "search_keyword", "search_category", "search_count", "goal_id", "revenue", "order_id",
               "order_subtotal", "order_tax", "order_shipping", "order_discount", "ecommerce_items", "pf_network",
               "pf_server", "pf_transfer", "pf_dom_processing", "pf_dom_completion", "pf_onload", *_ORIGIN,
               *_CLIENT, "local_hour", "is_bot", "retention_days", "conversion_referrer_type",
               "conversion_referrer_name", "conversion_referrer_keyword")
    return f"""
INSERT INTO events ({', '.join(columns)})
SELECT
    {{site:UInt32}}, ts, kind, visitor_id, visit_id,
    substring(lower(hex(cityHash64(v, pageview_number, 30))), 1, 6),
    '{HOSTNAME}', pathname,
    concat('https://{HOSTNAME}', pathname, if(j = 0 AND referrer_type = 'campaign', concat('?utm_source=',
           utm_source, '&utm_medium=', utm_medium, '&utm_campaign=', utm_campaign), '')),
    if(kind = 'pageview', {page_title('page_rank')}, ''),
    multiIf(kind = 'outlink', concat('https://', {website_host('link')}, '/', {word('link', 34)}),
            kind = 'download', concat('https://{HOSTNAME}/downloads/', {word('file', 35)}, '-', {word('file', 36)},
            '.', arrayElement({lit(DOWNLOAD_TYPES)}, 1 + file % {len(DOWNLOAD_TYPES)})), ''),
    if(kind = 'event', arrayElement({lit([item[0] for item in EVENT_CATEGORIES])}, category), ''),
    if(kind = 'event', arrayElement(arrayElement({actions}, category),
       1 + cityHash64(v, j, 32) % length(arrayElement({actions}, category))), ''),
    if(kind = 'event', concat({word('event_rank', 41)}, ' ', {word('event_rank', 42)}), ''),
    if(kind = 'event' AND {u('v', 'j', 34)} < 0.3, toFloat64(round({u('v', 'j', 35)} * 100)), NULL),
    if(kind = 'site_search', concat({word('search_rank', 43)}, ' ', {word('search_rank', 44)}), ''),
    if(kind = 'site_search' AND {u('v', 'j', 37)} < 0.2,
       arrayElement({lit(SEARCH_CATEGORIES)}, 1 + cityHash64(v, j, 38) % {len(SEARCH_CATEGORIES)}), ''),
    toInt32(if(kind = 'site_search', if({u('v', 'j', 39)} < 0.06, 0, 1 + floor({u('v', 'j', 39)} * 60)), -1)),
    if(kind = 'goal', goal_id, 0),
    toDecimal64(multiIf(kind = 'goal', arrayElement({lit([value for _, _, value in GOALS])}, goal_index),
                        kind = 'ecommerce_order', subtotal + shipping, 0), 2),
    if(kind = 'ecommerce_order', concat('T', toString(cityHash64(v, j, 50) % 100000000)), ''),
    toDecimal64(if(kind = 'ecommerce_order', subtotal, 0), 2),
    toDecimal64(if(kind = 'ecommerce_order', round(subtotal * 21 / 121, 2), 0), 2),
    toDecimal64(if(kind = 'ecommerce_order', shipping, 0), 2),
    toDecimal64(0, 2),
    if(kind = 'ecommerce_order', concat('[["SKU-', toString(product), '","', {word('product', 45)}, ' ',
       {word('product', 46)}, '","Bikes",', toString(subtotal), ',1]]'), ''),
    toInt32(if({timed}, if({u('v', 'j', 65)} < 0.6, 0, floor(-log({u('v', 'j', 66)}) * 20)), -1)),
    toInt32(if({timed}, floor(exp(4.6 + 0.6 * {z})), -1)),
    toInt32(if({timed}, 2 + floor(-log({u('v', 'j', 67)}) * 15), -1)),
    toInt32(if({timed}, floor(exp(5.8 + 0.5 * {z})), -1)),
    toInt32(if({timed}, floor(exp(5.0 + 0.6 * {z})), -1)),
    toInt32(if({timed}, 1 + floor(-log({u('v', 'j', 68)}) * 8), -1)),
    {', '.join(_ORIGIN)},
    {', '.join(_CLIENT)},
    toInt8((toHour(ts, '{timezone}') + hours_ahead + 24) % 24),
    0,
    {{retention:UInt16}},
    if(kind IN ('goal', 'ecommerce_order'), referrer_type, ''),
    if(kind IN ('goal', 'ecommerce_order'), referrer_name, ''),
    if(kind IN ('goal', 'ecommerce_order'), referrer_keyword, '')
FROM (
    SELECT *, kind, page_rank, j, pageview_number, start + hit_offset AS ts, {page_path('page_rank')} AS pathname,
           {zipf(800, u('v', 'j', 33))} AS link, {zipf(200, u('v', 'j', 36))} AS file,
           {zipf(400, u('v', 'j', 33))} AS event_rank, {zipf(300, u('v', 'j', 52))} AS product,
           {zipf(3000, u('v', 'j', 36))} AS search_rank,
           {category} AS category, {goal} AS goal_index,
           arrayElement({lit([goal_id for goal_id, _, _ in GOALS])}, goal_index) AS goal_id,
           round(15 + exp({u('v', 'j', 51)} * 5.5), 2) AS subtotal, if(subtotal >= 50, 0, 4.95) AS shipping
    FROM {SCRATCH}.visits
    ARRAY JOIN kinds AS kind, ranks AS page_rank, offsets AS hit_offset, pageview_index AS pageview_number,
               range(k) AS j
)
"""  # noqa: S608 - constants of this module and bound values only


def sessions_sql() -> str:
    """One +1 row per visit, consistent with its events: ids, entry and exit page, counts, duration, bounce."""
    columns = ("site_id", "visit_id", "visitor_id", "sign", "version", "start", "last_seen", "hostname",
               "entry_page", "exit_page", "pageviews", "events", "duration", "is_bounce", *_ORIGIN, *_CLIENT,
               "retention_days")
    return f"""
INSERT INTO sessions ({', '.join(columns)})
SELECT {{site:UInt32}}, visit_id, visitor_id, 1, k, start, start + duration, '{HOSTNAME}',
       {page_path('entry_rank')}, {page_path('exit_rank')}, pageviews, k - pageviews, duration, k = 1,
       {', '.join(_ORIGIN)}, {', '.join(_CLIENT)}, {{retention:UInt16}}
FROM (SELECT *, arrayElement(ranks, 1) AS entry_rank, arrayElement(ranks, -1) AS exit_rank FROM {SCRATCH}.visits)
"""  # noqa: S608 - constants of this module and bound values only


DROP_REASONS = (("bot", 0.055), ("referrer_spam", 0.004), ("prefetch", 0.003), ("wrong_host", 0.002),
                ("excluded_ip", 0.006), ("invalid_url", 0.0005))


@dataclass(slots=True)
class Generated:
    hits: int = 0
    visits: int = 0
    visitors: int = 0
    pageviews: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def generate(store: Store, site: Site, plan: Plan, log: Callable[[str], None] = print) -> Generated:
    """Fill `events`, `sessions` and `dropped_hits` for `site`; OPTIMIZE … FINAL afterwards."""
    client = store.client()
    result = Generated()
    settings = {"max_insert_threads": 2, "max_memory_usage": 12 * 2**30}

    def step(name: str, sql: str, parameters: dict[str, object] | None = None) -> None:
        started = time.perf_counter()
        client.command(sql, parameters=parameters, settings=settings)
        result.seconds[name] = time.perf_counter() - started
        log(f"  {name}: {result.seconds[name]:.1f} s")

    client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": SCRATCH})
    client.command("CREATE DATABASE {db:Identifier}", parameters={"db": SCRATCH})
    try:
        step("visits (scratch table)", visits_sql(plan), {
            "hits": plan.hits, "day_cumulative": plan.day_cumulative, "day_scale": plan.day_scale,
            "available": plan.available, "midnights": plan.midnights})
        [(hits, visits, visitors)] = client.query(
            "SELECT sum(k), count(), uniqExact(visitor_id) FROM {db:Identifier}.visits",
            parameters={"db": SCRATCH}).result_rows
        if int(hits) != plan.hits:
            raise RuntimeError(f"the visits hold {hits} hits, not {plan.hits}")
        result.hits, result.visits, result.visitors = int(hits), int(visits), int(visitors)
        bound = {"site": site.site_id, "retention": site.retention_days}
        step("events insert", events_sql(site.timezone), bound)
        step("sessions insert", sessions_sql(), bound)
    finally:
        client.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": SCRATCH})
    daily = [0] * len(plan.days)
    for day, count in client.query(
            "SELECT toDate(ts, {tz:String}) AS day, count() FROM events WHERE site_id = {site:UInt32} GROUP BY day",
            parameters={"tz": site.timezone, "site": site.site_id}).result_rows:
        if day in plan.days:
            daily[plan.days.index(day)] = int(count)
    rows = [[site.site_id, day, reason, max(1, round(count * share))]
            for day, count in zip(plan.days, daily, strict=True) for reason, share in DROP_REASONS if count]
    client.insert("dropped_hits", rows, column_names=["site_id", "day", "reason", "hits"])
    result.pageviews = int(client.query("SELECT countIf(name = 'pageview') FROM events WHERE site_id = {site:UInt32}",
                                        parameters={"site": site.site_id}).result_rows[0][0])
    for table in ("events", "sessions", "page_visits", "dropped_hits"):
        step(f"OPTIMIZE TABLE {table} FINAL", "OPTIMIZE TABLE {table:Identifier} FINAL", {"table": table})
    return result
