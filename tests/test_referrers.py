"""Referrer classification (Matomo's detection order), campaign/UTM extraction and URL cleaning."""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files
from typing import Any

import pytest

from ingest import referrers
from ingest.referrers import Campaign, Referrer, Utm, campaign_from, classify_referrer, clean_url, utm_from

PAGE = "https://www.example.org/fietsen"


def site_hosts(host: str) -> bool:
    """Like Site.allows_host for domains ("example.org", "fietsen-shop.nl", "*.example.org")."""
    return host in ("example.org", "www.example.org", "fietsen-shop.nl", "www.fietsen-shop.nl") \
        or host.endswith(".example.org")


def classify(referrer: str, page: str = PAGE, params: dict[str, str] | None = None) -> Referrer:
    return classify_referrer(referrer, page, site_hosts, params)


# ---- rules 3-5: direct, search, AI, social, website

@pytest.mark.parametrize(("referrer", "kind", "name", "keyword"), [
    # search engines: Google's country domains through {tld}, keywords from each engine's own parameter
    ("https://www.google.com/", "search", "Google", ""),
    ("https://www.google.nl/", "search", "Google", ""),
    ("https://www.google.co.uk/", "search", "Google", ""),
    ("https://www.google.com.au/url?sa=t", "search", "Google", ""),
    ("https://google.de/search?q=Fahrrad+Kaufen", "search", "Google", "fahrrad kaufen"),
    ("https://images.google.fr/", "search", "Google Images", ""),
    ("https://news.google.com/", "search", "Google News", ""),
    ("https://www.bing.com/search?q=e-bike+accu&form=QBLH", "search", "Bing", "e-bike accu"),
    ("https://duckduckgo.com/?q=bakfiets&t=h_", "search", "DuckDuckGo", "bakfiets"),
    ("https://html.duckduckgo.com/html/?q=fietsenmaker", "search", "DuckDuckGo", "fietsenmaker"),
    ("https://uk.search.yahoo.com/search?p=bike+repair", "search", "Yahoo", "bike repair"),
    ("https://search.yahoo.co.jp/search?p=%E8%87%AA%E8%BB%A2%E8%BB%8A", "search", "Yahoo Japan", "自転車"),
    ("https://www.ecosia.org/search?method=index&q=fiets", "search", "Ecosia", "fiets"),
    ("https://yandex.com.tr/search/?text=bisiklet", "search", "Yandex", "bisiklet"),
    ("https://www.baidu.com/s?wd=%E8%87%AA%E8%A1%8C%E8%BD%A6", "search", "Baidu", "自行车"),
    ("https://search.brave.com/search?q=cargo+bike", "search", "Brave Search", "cargo bike"),
    ("https://m.search.naver.com/search.naver?query=bike", "search", "Naver", "bike"),
    ("https://www.google.com/#q=Hash+Query", "search", "Google", "hash query"),
    # AI assistants are their own type, even on a Google host
    ("https://chatgpt.com/", "ai", "ChatGPT", ""),
    ("https://www.perplexity.ai/search?q=best+e-bike", "ai", "Perplexity", "best e-bike"),
    ("https://gemini.google.com/app", "ai", "Gemini", ""),
    ("https://claude.ai/", "ai", "Claude", ""),
    ("https://copilot.microsoft.com/", "ai", "Microsoft Copilot", ""),
    # social networks, including their link shims and short domains
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.example.org%2F&h=AT0abc", "social", "Facebook", ""),
    ("https://lm.facebook.com/", "social", "Facebook", ""),
    ("https://m.facebook.com/", "social", "Facebook", ""),
    ("https://l.instagram.com/?u=https%3A%2F%2Fwww.example.org%2F&e=AT1", "social", "Instagram", ""),
    ("https://t.co/Ab12Cd", "social", "X (Twitter)", ""),
    ("https://x.com/someone/status/1", "social", "X (Twitter)", ""),
    ("https://www.linkedin.com/", "social", "LinkedIn", ""),
    ("https://nl.linkedin.com/in/someone", "social", "LinkedIn", ""),
    ("https://lnkd.in/abc", "social", "LinkedIn", ""),
    ("https://old.reddit.com/r/fietsen/", "social", "Reddit", ""),
    ("https://out.reddit.com/t3_abc", "social", "Reddit", ""),
    ("https://m.youtube.com/watch?v=x", "social", "YouTube", ""),
    ("https://nl.pinterest.com/pin/1/", "social", "Pinterest", ""),
    ("https://mastodon.social/@someone/1", "social", "Mastodon", ""),
    ("https://bsky.app/profile/someone", "social", "Bluesky", ""),
    ("https://news.ycombinator.com/item?id=1", "social", "Hacker News", ""),
    ("https://nextdoor.co.uk/", "social", "Nextdoor", ""),
    # websites: lowercased host without www., ports ignored; look-alikes of listed hosts are websites
    ("https://www.nu.nl/tech", "website", "nu.nl", ""),
    ("HTTPS://Blog.Example.NET:8443/post", "website", "blog.example.net", ""),
    ("https://medium.com/@someone/post", "website", "medium.com", ""),
    ("https://google.evil.com/", "website", "google.evil.com", ""),
    ("https://notgoogle.com/?q=x", "website", "notgoogle.com", ""),
    ("https://www.google.example/", "website", "google.example", ""),
    ("http://[2001:db8::1]:8080/", "website", "2001:db8::1", ""),
    # Android apps: known packages by their entry, other packages as websites (Gmail is not direct traffic)
    ("android-app://com.google.android.googlequicksearchbox/https/www.google.com", "search", "Google", ""),
    ("android-app://com.linkedin.android/", "social", "LinkedIn", ""),
    ("android-app://com.google.android.gm/", "website", "com.google.android.gm", ""),
    # direct: the site itself, its aliases and subdomains, the page's own host, and no usable referrer
    ("https://www.example.org/", "direct", "", ""),
    ("https://example.org/other", "direct", "", ""),
    ("https://fietsen-shop.nl/", "direct", "", ""),
    ("https://blog.example.org/post", "direct", "", ""),
    ("", "direct", "", ""),
    ("not a url", "direct", "", ""),
    ("www.google.com", "direct", "", ""),
    ("ftp://files.example.net/", "direct", "", ""),
    ("about:blank", "direct", "", ""),
    ("http://[::1", "direct", "", ""),
    ("https://", "direct", "", ""),
    ("https://exa mple.com/", "direct", "", ""),
])
def test_classification(referrer: str, kind: str, name: str, keyword: str) -> None:
    result = classify(referrer)
    assert (result.type, result.name, result.keyword) == (kind, name, keyword)
    if kind == "direct":
        assert (result.url, result.host) == ("", "")
    else:
        assert result.host


def test_self_referral_uses_the_page_host_even_outside_the_site_list() -> None:
    # A staging host that the site does not list: the page's own host is still not a referrer (Matomo).
    assert classify("https://staging.shop.test/a", page="https://staging.shop.test/b").type == "direct"
    assert classify("https://www.staging.shop.test/a", page="https://staging.shop.test/b").type == "direct"


# ---- rule 2: campaigns and UTM fields

@pytest.mark.parametrize(("referrer", "page", "params", "name", "keyword", "utm"), [
    # utm_campaign comes before utm_source in Matomo's name list; utm_term is the keyword
    ("", "https://www.example.org/?utm_source=Nieuwsbrief&utm_medium=email&utm_campaign=Lente%20Actie&utm_term=E-Bike",
     None, "lente actie", "e-bike", Utm("Nieuwsbrief", "email", "Lente Actie", "E-Bike", "")),
    ("", "https://www.example.org/?utm_source=nieuwsbrief&utm_medium=email", None, "nieuwsbrief", "",
     Utm("nieuwsbrief", "email", "", "", "")),
    ("", "https://www.example.org/?UTM_Source=%20Partner%20", None, "partner", "", Utm("Partner", "", "", "", "")),
    ("", "https://www.example.org/?pk_campaign=Winter&pk_kwd=Kids", None, "winter", "kids",
     Utm("", "", "Winter", "Kids", "")),
    ("", "https://www.example.org/?utm_content=banner&utm_campaign=x&mtm_campaign=Y", None, "y", "",
     Utm("", "", "x", "", "banner")),
    # the fragment, when the query has no campaign; single-page apps put it after "#/path?"
    ("", "https://www.example.org/#mtm_campaign=Herfst&mtm_kwd=Fiets&mtm_source=mail", None, "herfst", "fiets",
     Utm("mail", "", "Herfst", "Fiets", "")),
    ("", "https://www.example.org/#/shop?utm_campaign=spa", None, "spa", "", Utm("", "", "spa", "", "")),
    ("", "https://www.example.org/?utm_campaign=query#utm_campaign=fragment", None, "query", "",
     Utm("", "", "query", "", "")),
    # the tracking request's own parameters override the URL's
    ("", "https://www.example.org/?utm_campaign=url&utm_term=url-kw",
     {"idsite": "1", "mtm_campaign": "Request", "mtm_kwd": "Request-KW"}, "request", "request-kw",
     Utm("", "", "Request", "Request-KW", "")),
    ("", "https://www.example.org/?utm_campaign=url&utm_term=kept", {"idsite": "1", "rec": "1"}, "url", "kept",
     Utm("", "", "url", "kept", "")),
    ("", "https://www.example.org/", {"pk_campaign": "  Only-Request ", "utm_source": "app"}, "only-request", "",
     Utm("app", "", "Only-Request", "", "")),
    # keyword fallbacks: the referrer's search keyword, then the referrer host
    ("https://www.bing.com/search?q=Bakfiets+Huren", "https://www.example.org/?utm_source=bing&utm_medium=cpc", None,
     "bing", "bakfiets huren", Utm("bing", "cpc", "", "", "")),
    ("https://www.facebook.com/", "https://www.example.org/?utm_source=facebook", None, "facebook",
     "www.facebook.com", Utm("facebook", "", "", "", "")),
    ("https://www.google.com/", "https://www.example.org/?utm_source=google&utm_term=fiets", None, "google", "fiets",
     Utm("google", "", "", "fiets", "")),
    # Google Ads frames (Matomo's AdWords rule)
    ("https://googleads.g.doubleclick.net/pagead/ads?ad_type=text&url=https%3A%2F%2Fnews.example.net%2Fa",
     PAGE, None, "adwords (text)", "(adwords) news.example.net", Utm()),
])
def test_campaigns(referrer: str, page: str, params: dict[str, str] | None, name: str, keyword: str,
                   utm: Utm) -> None:
    result = classify(referrer, page, params)
    assert (result.type, result.name, result.keyword) == ("campaign", name, keyword)
    assert Utm(result.utm_source, result.utm_medium, result.utm_campaign, result.utm_term, result.utm_content) == utm


def test_campaign_keeps_the_cleaned_referrer() -> None:
    result = classify("https://www.google.com/url?q=fiets&ved=abc", "https://www.example.org/?utm_source=google")
    assert (result.url, result.host, result.keyword) == ("https://www.google.com/url?q=fiets", "www.google.com",
                                                         "fiets")


def test_utm_fields_are_kept_when_the_type_is_not_campaign() -> None:
    # utm_term and utm_content alone make no campaign; the visit keeps its own type and the UTM report its values.
    searched = classify("https://www.google.nl/", "https://www.example.org/?utm_content=hero&utm_term=fiets")
    assert (searched.type, searched.name, searched.utm_content, searched.utm_term) == ("search", "Google", "hero",
                                                                                      "fiets")
    direct = classify("", "https://www.example.org/?utm_content=footer")
    assert (direct.type, direct.utm_content) == ("direct", "footer")


def test_campaign_and_utm_helpers() -> None:
    assert campaign_from("https://www.example.org/?mtm_campaign=Zomer&mtm_keyword=Sale") == Campaign("zomer", "sale")
    assert campaign_from("https://www.example.org/?utm_term=only") is None
    assert campaign_from("https://www.example.org/", {"utm_medium": "Email"}) == Campaign("email", "")
    assert utm_from("https://www.example.org/?pk_source=a&pk_medium=b&pk_content=c") == Utm("a", "b", "", "", "c")
    assert utm_from("::not a url::") == Utm()


# ---- rule 1: ignore_referrer

@pytest.mark.parametrize(("referrer", "page"), [
    ("https://www.google.com/", "https://www.example.org/?ignore_referrer=1"),
    ("https://www.paypal.com/checkout", "https://www.example.org/bedankt?ignore_referer=1&order=12"),
    ("https://www.google.com/", "https://www.example.org/?utm_campaign=x&ignore_referrer=1"),
    ("https://www.facebook.com/", "https://www.example.org/#ignore_referrer=1"),
])
def test_ignore_referrer_makes_a_bare_direct_entry(referrer: str, page: str) -> None:
    assert classify(referrer, page) == Referrer("direct", "", "", "", "", "", "", "", "", "")


def test_ignore_referrer_needs_the_value_one() -> None:
    assert classify("https://www.google.com/", "https://www.example.org/?ignore_referrer=0").type == "search"


# ---- rule 6: URL cleaning

@pytest.mark.parametrize(("url", "excluded", "expected"), [
    ("https://www.example.org/p?gclid=abc&utm_source=google&fbclid=x&utm_medium=cpc",
     (), "https://www.example.org/p?utm_source=google&utm_medium=cpc"),
    ("https://www.example.org/p?GCLID=abc&MsClkId=1&a=1", (), "https://www.example.org/p?a=1"),
    ("https://www.example.org/p?gclid=abc#reviews", (), "https://www.example.org/p#reviews"),
    ("https://www.example.org/p?mtm_campaign=x&pk_vid=123&_ga=2.1&_gl=1*a", (), "https://www.example.org/p?mtm_campaign=x"),
    ("https://www.example.org/p?PHPSESSID=1&sid=2&jsessionid=3&doing_wp_cron=4", (), "https://www.example.org/p"),
    ("https://www.example.org/p?ignore_referrer=1&ignore_referer=1&wbraid=a&gbraid=b&yclid=c&dclid=d",
     (), "https://www.example.org/p"),
    ("https://www.example.org/p?b=2&token=secret&a=1", ("Token",), "https://www.example.org/p?b=2&a=1"),
    ("https://www.example.org/p?q=a%20b&x=c+d&gclid=1", (), "https://www.example.org/p?q=a%20b&x=c+d"),
    ("https://www.example.org/p?%67clid=encoded&keep=1", (), "https://www.example.org/p?keep=1"),
    ("https://www.example.org/p?a=1&&b=2", (), "https://www.example.org/p?a=1&&b=2"),
    ("https://www.example.org/p?", (), "https://www.example.org/p"),
    ("https://www.example.org/p?#top", (), "https://www.example.org/p#top"),
    ("https://www.example.org/p#/x?gclid=1", (), "https://www.example.org/p#/x?gclid=1"),
    ("https://www.example.org/p", ("a",), "https://www.example.org/p"),
    ("", (), ""),
])
def test_clean_url(url: str, excluded: tuple[str, ...], expected: str) -> None:
    assert clean_url(url, excluded) == expected


@pytest.mark.parametrize(("referrer", "url"), [
    ("https://www.google.com/url?sa=t&rct=j&q=fiets&esrc=s&source=web&cd=1&ved=2ah&usg=AOv&ei=x",
     "https://www.google.com/url?q=fiets"),
    ("https://www.bing.com/search?q=fiets&form=QBLH&sp=-1&cvid=ABC", "https://www.bing.com/search?q=fiets"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2F&h=AT0&fbclid=1",
     "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2F"),
    ("https://www.youtube.com/redirect?event=video_description&redir_token=x&q=https%3A%2F%2Fexample.org&v=abc",
     "https://www.youtube.com/redirect?q=https%3A%2F%2Fexample.org&v=abc"),
    # engine noise stays on websites, where "p" and "h" are real parameters; click ids go everywhere
    ("https://blog.example.net/?p=123&h=2&gclid=9", "https://blog.example.net/?p=123&h=2"),
    ("https://chatgpt.com/?gclid=1", "https://chatgpt.com/"),
])
def test_referrer_url_noise(referrer: str, url: str) -> None:
    assert classify(referrer).url == url


# ---- rule 7: garbage never raises

@pytest.mark.parametrize("garbage", [
    "", " ", "http://", "https://[", "http://[::1", "http://[2001:db8::1", "://", "http:///path", "https://%zz/",
    "https://exa\uff03mple.com/", "https://example.com:99999999/", "https://user:pass@/", "\ud800", "https://\ud800/",
    "https://www.google.com/search?q=%FF%FE%FD", "https://www.google.com/search?q=" + "%" * 50,
    "https://example.com/" + "a" * 100_000, "x" * 1_000_000, "\x00\x01\x02", "javascript:alert(1)",
    "android-app://", "android-app:///x", "https://www.example.org/?utm_campaign=%E0%A4%A",
])
def test_garbage_never_raises(garbage: str) -> None:
    for referrer, page in ((garbage, PAGE), (PAGE, garbage), (garbage, garbage)):
        result = classify(referrer, page, {"mtm_campaign": garbage})
        assert result.type in ("direct", "search", "social", "website", "campaign", "ai")
        assert len(result.url) <= referrers.MAX_URL_LENGTH
        for value in (result.name, result.keyword, result.utm_source, result.utm_campaign, result.utm_term):
            assert len(value) <= referrers.MAX_FIELD_LENGTH
        for value in (result.url, result.name, result.keyword, result.host, result.utm_campaign):
            value.encode("utf-8")  # storable: no lone surrogates survive
    assert len(clean_url(garbage)) <= referrers.MAX_URL_LENGTH


def test_non_utf8_keyword_is_replaced_not_raised() -> None:
    result = classify("https://www.google.com/search?q=caf%E9")
    assert (result.type, result.keyword) == ("search", "caf\ufffd")


# ---- the data file

def _data() -> dict[str, list[dict[str, Any]]]:
    return json.loads(files("ingest").joinpath("data/referrers.json").read_text(encoding="utf-8"))


def test_data_file_sizes() -> None:
    data = _data()
    assert len(data["search"]) >= 40
    assert len(data["social"]) >= 40
    assert len(data["ai"]) >= 5


def test_no_host_is_claimed_by_two_entries() -> None:
    owners: dict[str, str] = {}
    clashes = []
    for group, items in _data().items():
        for item in items:
            assert item["name"] and item["hosts"], item
            for pattern in item["hosts"]:
                key = referrers._pattern_key(pattern)  # also rejects patterns the matcher cannot honour
                owner = f"{group}:{item['name']}"
                if owners.setdefault(key, owner) != owner:
                    clashes.append((key, owners[key], owner))
    assert clashes == []


def test_noise_lists_name_real_entries_and_campaign_params_stay_visible() -> None:
    names = {item["name"] for items in _data().values() for item in items}
    assert set(referrers._REFERRER_NOISE) <= names
    campaign_params = {*referrers.CAMPAIGN_NAME_PARAMS, *referrers.CAMPAIGN_KEYWORD_PARAMS, "utm_content"}
    assert not campaign_params & referrers.URL_NOISE_PARAMS


# ---- volume: many calls, checked by counts (timing belongs in the benchmarks)

def test_ten_thousand_mixed_referrers() -> None:
    mix = [
        ("https://www.google.com/", PAGE), ("https://www.bing.com/search?q=fiets", PAGE),
        ("https://l.facebook.com/", PAGE), ("https://chatgpt.com/", PAGE), ("https://www.nu.nl/", PAGE),
        ("https://www.example.org/", PAGE), ("", PAGE),
        ("https://www.google.nl/", "https://www.example.org/?utm_source=nieuwsbrief&utm_medium=email"),
        ("https://unique-{i}.example.net/", PAGE), ("garbage {i}", PAGE),
    ]
    counts: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for i in range(10_000):
        referrer, page = mix[i % len(mix)]
        result = classify(referrer.format(i=i), page, {"idsite": "1", "rec": "1"})
        counts[result.type] += 1
        names[result.name] += 1
    assert counts == {"search": 2000, "social": 1000, "ai": 1000, "website": 2000, "direct": 3000, "campaign": 1000}
    assert (names["Google"], names["Bing"], names["nieuwsbrief"], names["nu.nl"]) == (1000, 1000, 1000, 1000)
