"""Browser, OS and device type from the User-Agent header, through the `user-agents` library.

Real traffic repeats a few thousand user agents, so parses are cached; the cache is bounded so a flood of
unique user agents costs one parse each and cannot grow memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from user_agents import parse

# Signs of automation that ua-parser does not flag as bots.
_HEADLESS_MARKERS = ("headlesschrome", "phantomjs", "electron/", "puppeteer", "playwright", "selenium")
MAX_USER_AGENT_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    browser: str
    browser_version: str
    os: str
    os_version: str
    device_type: str  # desktop, smartphone, tablet, bot, other
    is_bot: bool


@lru_cache(maxsize=20_000)
def parse_user_agent(user_agent: str) -> UserAgentInfo:
    text = user_agent[:MAX_USER_AGENT_LENGTH]
    parsed = parse(text)
    lowered = text.lower()
    is_bot = parsed.is_bot or any(marker in lowered for marker in _HEADLESS_MARKERS)
    if is_bot:
        device_type = "bot"
    elif parsed.is_tablet:
        device_type = "tablet"
    elif parsed.is_mobile:
        device_type = "smartphone"
    elif parsed.is_pc:
        device_type = "desktop"
    else:
        device_type = "other"
    browser_major = str(parsed.browser.version[0]) if parsed.browser.version else ""
    return UserAgentInfo(
        browser=parsed.browser.family if parsed.browser.family != "Other" else "",
        browser_version=browser_major,
        os=parsed.os.family if parsed.os.family != "Other" else "",
        os_version=".".join(str(part) for part in parsed.os.version[:2]),
        device_type=device_type,
        is_bot=is_bot,
    )
