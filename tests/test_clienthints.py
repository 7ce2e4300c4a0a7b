"""Client hints from Matomo's uadata or the Sec-CH-UA headers correct the frozen user agent."""

from __future__ import annotations

import json

import pytest

from ingest.clienthints import EMPTY, ClientHints, DeviceDetail, device_detail, hints_from, refine
from ingest.useragent import parse_user_agent

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
    "Chrome/122.0.0.0 Mobile Safari/537.36"
)
YANDEX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
    "YaBrowser/24.12.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def uadata(**fields: object) -> str:
    return json.dumps(fields)


def brands(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"brand": brand, "version": version} for brand, version in pairs]


CHROME_131 = brands(("Google Chrome", "131.0.6778.86"), ("Chromium", "131.0.6778.86"), ("Not_A Brand", "24.0.0.0"))


def test_windows_11_from_platform_version() -> None:
    hints = hints_from(
        uadata(fullVersionList=CHROME_131, platform="Windows", platformVersion="15.0.0", model="",
               formFactors=["Desktop"]),
        {},
    )
    info = refine(parse_user_agent(CHROME_WINDOWS), hints)
    assert (info.os, info.os_version, info.browser, info.browser_version, info.device_type) == (
        "Windows", "11", "Chrome", "131", "desktop",
    )


@pytest.mark.parametrize(
    ("platform_version", "os_version"),
    [("13.0.0", "11"), ("19.0.0", "11"), ("10.0.0", "10"), ("1.0.0", "10"), ("0.3.0", "10"), ("", "10"), ("x", "10")],
)
def test_windows_platform_version_mapping(platform_version: str, os_version: str) -> None:
    # 0.x is Windows 7/8/8.1, where the UA (NT 6.x) is already right, so the UA's version stays.
    hints = ClientHints(platform="Windows", platform_version=platform_version)
    assert refine(parse_user_agent(CHROME_WINDOWS), hints).os_version == os_version


def test_macos_version_is_major_minor() -> None:
    hints = hints_from(uadata(brands=CHROME_131, platform="macOS", platformVersion="14.5.0"), {})
    info = refine(parse_user_agent(CHROME_MAC), hints)
    assert (info.os, info.os_version) == ("Mac OS X", "14.5")


def test_android_version_and_model() -> None:
    hints = hints_from(
        uadata(fullVersionList=CHROME_131, platform="Android", platformVersion="14.0.0", model="Pixel 8",
               mobile=True),
        {},
    )
    info = refine(parse_user_agent(CHROME_ANDROID), hints)
    assert (info.os, info.os_version, info.device_type) == ("Android", "14", "smartphone")
    assert info.browser == "Chrome Mobile"
    assert device_detail(CHROME_ANDROID, hints) == DeviceDetail(brand="Google", model="Pixel 8")


def test_android_minor_version_is_kept() -> None:
    hints = ClientHints(platform="Android", platform_version="4.4.2")
    assert refine(parse_user_agent(CHROME_ANDROID), hints).os_version == "4.4"


def test_device_detail_without_hints() -> None:
    assert device_detail(CHROME_ANDROID, EMPTY) == DeviceDetail(brand="", model="")  # the frozen "K" says nothing
    assert device_detail(SAMSUNG, EMPTY) == DeviceDetail(brand="Samsung", model="SM-S918B")
    assert device_detail(CHROME_WINDOWS, EMPTY) == DeviceDetail(brand="", model="")
    samsung_hint = ClientHints(model="SM-S918B")
    assert device_detail(CHROME_ANDROID, samsung_hint) == DeviceDetail(brand="Samsung", model="SM-S918B")
    odd = ClientHints(model="Weird); Model<script>")
    assert device_detail(CHROME_ANDROID, odd).model == "Weird Modelscript"


@pytest.mark.parametrize(
    ("brand_list", "browser", "version"),
    [
        (brands(("Microsoft Edge", "131"), ("Chromium", "131"), ("Not_A Brand", "24")), "Edge", "131"),
        (brands(("Not_A Brand", "8"), ("Chromium", "120"), ("Opera", "106")), "Opera", "106"),
        (brands(("Brave", "131"), ("Chromium", "131"), ("Not_A Brand", "24")), "Brave", "131"),
        (brands(("Chromium", "122"), ("Not(A:Brand", "24"), ("Samsung Internet", "26.0")), "Samsung Internet", "26"),
        (brands(("Not)A;Brand", "99"), ("Google Chrome", "127"), ("Chromium", "127")), "Chrome", "127"),
        (brands(("Google Chrome", "131"), ("Microsoft Edge", "131")), "Edge", "131"),  # most specific wins
        (brands(("Chromium", "131"), ("Not_A Brand", "24")), "Chrome", "131"),  # nothing better: UA stays
        (brands((" Not A;Brand", "99"), ("Not.A/Brand", "8"), ("Not?A_Brand", "24")), "Chrome", "131"),  # only GREASE
        (brands(("Some New Fork", "3")), "Chrome", "131"),  # unknown brands never rename
    ],
)
def test_browser_from_brands(brand_list: list[dict[str, str]], browser: str, version: str) -> None:
    info = refine(parse_user_agent(CHROME_WINDOWS), hints_from(uadata(brands=brand_list), {}))
    assert (info.browser, info.browser_version) == (browser, version)


def test_chrome_brand_does_not_rename_a_fork_named_by_its_ua_token() -> None:
    hints = hints_from(uadata(brands=brands(("Google Chrome", "130"), ("Chromium", "130"))), {})
    assert refine(parse_user_agent(YANDEX), hints).browser == "Yandex Browser"
    yandex = hints_from(uadata(brands=brands(("Chromium", "130"), ("YaBrowser", "24.12"))), {})
    assert refine(parse_user_agent(CHROME_WINDOWS), yandex).browser == "Yandex Browser"


@pytest.mark.parametrize(
    ("user_agent", "fields", "device_type"),
    [
        (CHROME_ANDROID_TABLET, {"mobile": True}, "smartphone"),
        (CHROME_ANDROID, {"mobile": True, "formFactors": ["Mobile", "Tablet"]}, "tablet"),
        (CHROME_ANDROID, {"formFactors": ["Tablet"]}, "tablet"),
        (CHROME_ANDROID_TABLET, {"mobile": False}, "tablet"),
        (CHROME_ANDROID, {"mobile": "?1"}, "smartphone"),
        (CHROME_WINDOWS, {"mobile": False, "formFactors": ["Desktop"]}, "desktop"),
    ],
)
def test_device_type(user_agent: str, fields: dict[str, object], device_type: str) -> None:
    assert refine(parse_user_agent(user_agent), hints_from(uadata(**fields), {})).device_type == device_type


def test_headers_only() -> None:
    headers = {
        "sec-ch-ua": '"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
        "sec-ch-ua-full-version-list": (
            '"Microsoft Edge";v="131.0.2903.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"'
        ),
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
        "sec-ch-ua-platform-version": '"15.0.0"',
        "sec-ch-ua-model": '""',
    }
    for param in ("", "{}", "  ", "not json"):
        hints = hints_from(param, headers)
        assert hints.brands[0] == ("Microsoft Edge", "131.0.2903.86")
        assert (hints.platform, hints.platform_version, hints.model, hints.mobile) == ("Windows", "15.0.0", "", False)
        info = refine(parse_user_agent(CHROME_WINDOWS), hints)
        assert (info.browser, info.browser_version, info.os_version) == ("Edge", "131", "11")


def test_low_entropy_headers_only() -> None:
    headers = {
        "sec-ch-ua": '"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"',
        "sec-ch-ua-mobile": "?1",
        "sec-ch-ua-platform": '"Android"',
    }
    hints = hints_from("", headers)
    assert hints.brands == (("Chromium", "131"), ("Not_A Brand", "24"), ("Google Chrome", "131"))
    info = refine(parse_user_agent(CHROME_ANDROID_TABLET), hints)
    assert (info.os, info.os_version, info.device_type) == ("Android", "10", "smartphone")


def test_grease_brand_with_separators_in_header() -> None:
    hints = hints_from("", {"sec-ch-ua": '"Not)A;Brand";v="99", "Google Chrome";v="127", "Chromium";v="127"'})
    assert [brand for brand, _ in hints.brands] == ["Not)A;Brand", "Google Chrome", "Chromium"]


def test_uadata_wins_and_headers_fill_the_gaps() -> None:
    headers = {"sec-ch-ua-platform": '"Windows"', "sec-ch-ua-mobile": "?0", "sec-ch-ua": '"Chromium";v="1"'}
    hints = hints_from(uadata(brands=CHROME_131, platformVersion="15.0.0"), headers)
    assert hints.brands[0] == ("Google Chrome", "131.0.6778.86")
    assert (hints.platform, hints.platform_version, hints.mobile) == ("Windows", "15.0.0", False)


def test_full_version_list_preferred_over_brands() -> None:
    hints = hints_from(
        uadata(brands=brands(("Chromium", "131")), fullVersionList=brands(("Opera", "115.0.5322.77"))), {}
    )
    assert hints.brands == (("Opera", "115.0.5322.77"),)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "{}",
        "{",
        "null",
        "[]",
        '"text"',
        "42",
        "x" * 5000,
        "[" * 1999,
        '{"a":' * 300 + "1" + "}" * 300,
        json.dumps({"brands": "Chrome", "platform": 5, "mobile": "maybe", "formFactors": "Tablet"}),
        json.dumps({"brands": [1, None, {"brand": ["x"]}, {"version": "1"}], "fullVersionList": {}}),
        json.dumps({"platform": "Win\x00dows", "model": {"x": 1}}),
        json.dumps({"brands": brands(("A", "1")) * 5000}),
    ],
)
def test_junk_uadata_never_raises(junk: str) -> None:
    hints = hints_from(junk, {})
    assert isinstance(hints, ClientHints)
    assert not hints.platform and not hints.model and hints.mobile is None and not hints.form_factors
    assert refine(parse_user_agent(CHROME_WINDOWS), hints) == parse_user_agent(CHROME_WINDOWS)


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-ch-ua": '"unterminated;v="1'},
        {"sec-ch-ua": "," * 5000},
        {"sec-ch-ua": '"A";v="1", ' * 2000},
        {"sec-ch-ua-platform": "Windows"},  # a token, not a string: accepted
        {"sec-ch-ua-mobile": "yes"},
        {"sec-ch-ua-model": '"' + "x" * 3000 + '"'},
    ],
)
def test_junk_headers_never_raise(headers: dict[str, str]) -> None:
    hints = hints_from("", headers)
    assert len(hints.brands) <= 12
    assert len(hints.model) <= 64
    refine(parse_user_agent(CHROME_WINDOWS), hints)


def test_bots_and_empty_hints_are_left_alone() -> None:
    bot = parse_user_agent(GOOGLEBOT)
    assert refine(bot, ClientHints(platform="Windows", platform_version="15.0.0", mobile=True)) is bot
    chrome = parse_user_agent(CHROME_WINDOWS)
    assert refine(chrome, EMPTY) is chrome
    assert not EMPTY
    assert ClientHints(mobile=False)


def test_platform_different_from_the_ua_wins() -> None:
    # Chrome on Android with "Request desktop site" sends a Linux desktop UA but keeps its platform hint.
    desktop_mode = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    )
    hints = ClientHints(platform="Android", platform_version="14.0.0", mobile=False)
    info = refine(parse_user_agent(desktop_mode), hints)
    assert (info.os, info.os_version) == ("Android", "14")
