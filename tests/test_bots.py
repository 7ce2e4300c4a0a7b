"""Bot, prefetch and referrer-spam detection and the per-site exclusion helpers, with real user-agent strings."""

from __future__ import annotations

import ipaddress

import crawleruseragents
import pytest

from ingest.bots import (
    REFERRER_SPAM_HOSTS,
    bot_reason,
    excluded_by_user_agent,
    is_listed_crawler,
    is_prefetch,
    is_referrer_spam,
)
from ingest.ipmask import ip_in_ranges

BOTS = {
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "googlebot_smartphone": (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ),
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "bingbot_chrome": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) "
        "Chrome/116.0.1938.76 Safari/537.36"
    ),
    "ahrefsbot": "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "semrushbot": "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "gptbot": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "claudebot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)"
    ),
    "perplexitybot": (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
        "+https://perplexity.ai/perplexitybot)"
    ),
    "facebookexternalhit": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "twitterbot": "Twitterbot/1.0",
    "yandexbot": "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "duckduckbot": "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "applebot": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 "
        "Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
    ),
    "bytespider": (
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
        "(compatible; Bytespider; spider-feedback@bytedance.com)"
    ),
    "slackbot": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "linkedinbot": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "curl": "curl/8.5.0",
    "python_requests": "python-requests/2.32.3",
    "go_http_client": "Go-http-client/1.1",
    "wget": "Wget/1.21.4",
    "scrapy": "Scrapy/2.11.2 (+https://scrapy.org)",
    "axios": "axios/1.7.7",
    "uptimerobot": "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "pingdom": "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "pingdom_tms": (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/534.34 (KHTML, like Gecko) PingdomTMS/0.8.5 Safari/534.34"
    ),
}

HEADLESS = {
    "headless_chrome": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.6778.33 "
        "Safari/537.36"
    ),
    "phantomjs": (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1"
    ),
    "electron": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 "
        "Chrome/130.0.6723.191 Electron/33.2.1 Safari/537.36"
    ),
}

HUMANS = {
    "chrome_windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36"
    ),
    "chrome_windows7": (
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 "
        "Safari/537.36"
    ),
    "chrome_mac": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36"
    ),
    "chrome_android": (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
        "Safari/537.36"
    ),
    "chrome_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
    ),
    "chromeos": (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36"
    ),
    "safari_iphone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1.1 Mobile/15E148 Safari/604.1"
    ),
    "safari_ipad": (
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 "
        "Mobile/15E148 Safari/604.1"
    ),
    "safari_mac": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15"
    ),
    "firefox_windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "firefox_linux": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "firefox_android": "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
    "edge": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0"
    ),
    "samsung_internet": (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
    ),
    "opera": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
        "Safari/537.36 OPR/115.0.0.0"
    ),
    "yandex_browser": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
        "YaBrowser/24.12.0.0 Safari/537.36"
    ),
    "android_webview": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/130.0.6723.102 Mobile Safari/537.36"
    ),
    "facebook_in_app": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 [FBAN/FBIOS;FBAV/489.0.0.47.106;FBBV/665409385;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;"
        "FBSV/17.6.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/667286095]"
    ),
    "instagram_in_app": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Instagram 356.0.0.24.91 (iPhone15,2; iOS 18_1; en_US; en; scale=3.00; 1179x2556; 658112829)"
    ),
    "google_app_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "GSA/343.0.695551749 Mobile/15E148 Safari/604.1"
    ),
}

BROWSER_HEADERS = {"accept-language": "en-GB,en;q=0.9", "accept-encoding": "gzip, deflate, br, zstd"}


@pytest.mark.parametrize("user_agent", BOTS.values(), ids=BOTS.keys())
def test_bots_are_flagged(user_agent: str) -> None:
    assert bot_reason(user_agent, BROWSER_HEADERS) in {"bot_ua_parser", "bot_crawler_list"}


@pytest.mark.parametrize("user_agent", HEADLESS.values(), ids=HEADLESS.keys())
def test_headless_browsers_are_flagged(user_agent: str) -> None:
    assert bot_reason(user_agent, BROWSER_HEADERS) == "headless"


@pytest.mark.parametrize("user_agent", HUMANS.values(), ids=HUMANS.keys())
def test_human_browsers_pass(user_agent: str) -> None:
    assert bot_reason(user_agent, BROWSER_HEADERS) is None
    assert bot_reason(user_agent, BROWSER_HEADERS, check_headers=True) is None
    assert not is_listed_crawler(user_agent)


@pytest.mark.parametrize(
    ("user_agent", "reason"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot_ua_parser"),
        ("python-requests/2.32.3", "bot_crawler_list"),  # ua-parser calls it "Python Requests", not a spider
        ("Go-http-client/1.1", "bot_crawler_list"),
        ("axios/1.7.7", "bot_crawler_list"),
    ],
)
def test_reason_names_the_layer_that_caught_it(user_agent: str, reason: str) -> None:
    assert bot_reason(user_agent, {}) == reason


@pytest.mark.parametrize("user_agent", ["", " ", "\t"])
def test_empty_user_agent_is_dropped(user_agent: str) -> None:
    assert bot_reason(user_agent, BROWSER_HEADERS) == "bot_empty_ua"


@pytest.mark.parametrize(
    "headers",
    [
        {"x-purpose": "preview"},
        {"x-purpose": "instant"},
        {"x-moz": "prefetch"},
        {"purpose": "prefetch"},
        {"sec-purpose": "prefetch"},
        {"sec-purpose": "prefetch;prerender"},
        {"sec-purpose": "prefetch;anonymous-client-ip"},
        {"sec-purpose": "Prefetch"},
    ],
)
def test_prefetch_requests_are_dropped(headers: dict[str, str]) -> None:
    assert is_prefetch(headers)
    assert bot_reason(HUMANS["chrome_windows"], BROWSER_HEADERS | headers) == "prefetch"


@pytest.mark.parametrize("headers", [{}, {"purpose": "navigate"}, {"sec-purpose": ""}, {"x-moz": "something"}])
def test_ordinary_requests_are_not_prefetch(headers: dict[str, str]) -> None:
    assert not is_prefetch(headers)


def test_header_heuristic_is_opt_in() -> None:
    chrome = HUMANS["chrome_windows"]
    assert bot_reason(chrome, {}) is None
    assert bot_reason(chrome, {}, check_headers=True) == "bot_headers"
    assert bot_reason(chrome, {"accept-language": "  "}, check_headers=True) == "bot_headers"
    assert bot_reason(chrome, {"accept-language": "de"}, check_headers=True) is None


def test_crawler_matcher_agrees_with_the_package_on_all_its_examples() -> None:
    examples = [
        example for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA for example in entry["instances"]
    ]
    assert len(examples) > 1000
    disagreements = [ua for ua in examples if is_listed_crawler(ua) != crawleruseragents.is_crawler(ua)]
    assert disagreements == []
    for user_agent in HUMANS.values():
        assert is_listed_crawler(user_agent) == crawleruseragents.is_crawler(user_agent)


def test_huge_user_agents_are_cut_before_matching() -> None:
    # Cost per unique user agent is measured in bench/enrichment_costs.py, not asserted here.
    assert is_listed_crawler("Mozilla/5.0 " + "a" * 100_000) is False
    assert is_listed_crawler("a" * 100_000 + " Googlebot/2.1") is False  # past the cap, never read


@pytest.mark.parametrize(
    "host",
    [
        "semalt.com",
        "www.semalt.com",
        "semalt.semalt.com",
        "x.y.semalt.com",
        "SEMALT.COM",
        "semalt.com.",
        "semalt.com:443",
        "buttons-for-website.com",
        "darodar.com",
        "forum.darodar.com",
        "ilovevitaly.com",
        "priceg.com",
        "blackhatworth.com",
        "hulfingtonpost.com",
        "social-buttons.com",
        "best-seo-offer.com",
    ],
)
def test_referrer_spam_hosts(host: str) -> None:
    assert is_referrer_spam(host)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "google.com",
        "www.google.com",
        "com",
        "notsemalt.com",
        "semalt.com.example.org",
        "semalt",
        "huffingtonpost.com",
        "uptime.com",
        "bücher.de",
        "[2001:db8::1]:443",
        "x" * 10_000,
    ],
)
def test_ordinary_hosts_are_not_spam(host: str) -> None:
    assert not is_referrer_spam(host)


def test_spam_list_is_loaded_and_clean() -> None:
    assert len(REFERRER_SPAM_HOSTS) >= 60
    for host in REFERRER_SPAM_HOSTS:
        assert host == host.strip().lower()
        assert "." in host and " " not in host and "#" not in host


@pytest.mark.parametrize(
    ("user_agent", "patterns", "excluded"),
    [
        (HUMANS["chrome_windows"], ["chrome"], True),  # case-insensitive substring
        (HUMANS["chrome_windows"], ["FIREFOX"], False),
        (HUMANS["firefox_linux"], ["FIREFOX"], True),
        (HUMANS["chrome_windows"], ["", "  "], False),  # blank entries never match
        (HUMANS["chrome_windows"], [], False),
        ("MyMonitor/1.0 (internal)", ["mymonitor"], True),
        (HUMANS["chrome_windows"], ["/Chrome\\/13\\d/"], True),  # regex written /.../
        (HUMANS["chrome_windows"], ["/Chrome\\/12\\d/"], False),
        (HUMANS["chrome_windows"], ["/chrome\\/131/"], False),  # regexes are case-sensitive, as in PCRE...
        (HUMANS["chrome_windows"], ["/chrome\\/131/i"], True),  # ...unless /i
        (HUMANS["chrome_windows"], ["/Windows NT (6|10)\\.0/"], True),
        (HUMANS["chrome_windows"], ["/([unclosed/"], False),  # invalid regex: plain substring only
        ("x /([unclosed/ y", ["/([unclosed/"], True),
        (HUMANS["chrome_windows"], ["Chrome.*Safari"], False),  # without slashes it is a substring, not a regex
        (HUMANS["safari_iphone"], ["android", "/iPhone OS 1[78]_/"], True),
    ],
)
def test_excluded_user_agents(user_agent: str, patterns: list[str], excluded: bool) -> None:
    assert excluded_by_user_agent(user_agent, patterns) is excluded


@pytest.mark.parametrize(
    ("address", "ranges", "inside"),
    [
        ("192.168.1.20", ["192.168.1.0/24"], True),
        ("192.168.2.20", ["192.168.1.0/24"], False),
        ("192.168.1.20", ["192.168.1.20"], True),
        ("192.168.1.21", ["192.168.1.20"], False),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("10.1.2.3", ["10.1.2.1/24"], True),  # host bits set: accepted, as Matomo does
        ("1.2.3.4", ["1.2.3.*"], True),
        ("1.2.4.4", ["1.2.3.*"], False),
        ("1.2.200.4", ["1.2.*.*"], True),
        ("1.3.0.1", ["1.2.*.*"], False),
        ("1.250.3.4", ["1.*.*.*"], True),
        ("8.8.8.8", ["*.*.*.*"], True),
        ("8.8.8.8", ["1.2.*", "1.*.3.4", "junk", "", "300.1.1.1", "1.2.3.0/33"], False),  # invalid entries ignored
        ("2001:db8::1", ["2001:db8::/32"], True),
        ("2001:db9::1", ["2001:db8::/32"], False),
        ("2001:db8::1", ["2001:db8::1"], True),
        ("2001:db8::1", ["1.2.3.*", "10.0.0.0/8"], False),
        ("::ffff:1.2.3.4", ["1.2.3.*"], True),  # IPv4-mapped IPv6
        ("1.2.3.4", [" 1.2.3.0/24 "], True),
    ],
)
def test_ip_ranges(address: str, ranges: list[str], inside: bool) -> None:
    assert ip_in_ranges(ipaddress.ip_address(address), ranges) is inside
