"""The page charset (`cs`): reading percent-encoded text made by a page that is not UTF-8.

matomo.js sends `cs` only when the page's charset is not UTF-8, and Matomo uses it to decode the site-search
keyword in the page URL: a search form on an ISO-8859-1 page submits "café" as `q=caf%E9` (section 1.4 of the
reference). Teller uses it there and for the page-made parameters `url`, `urlref`, `action_name` and `search`
of senders that percent-encode in the page charset (server-side trackers on legacy sites).

One rule everywhere: bytes that are valid UTF-8 are read as UTF-8, whatever `cs` says; only other bytes are read
in the page charset. matomo.js and teller.js encode their parameters with encodeURIComponent, which is always
UTF-8, so reading them blindly as ISO-8859-1 would garble every non-ASCII title; and text in a legacy charset
is practically never valid UTF-8 by accident. An unknown or non-text charset (`cs=klingon`, `cs=base64`) is
ignored: the values are read as without `cs`, never an error.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import unquote_to_bytes

# The parameters whose text the page itself made, so it may be in the page charset.
PAGE_TEXT_PARAMS = frozenset(("url", "urlref", "action_name", "search"))
_LABEL = re.compile(r"^[A-Za-z0-9._:-]{1,40}$")
# Browsers read the labels ISO-8859-1 and US-ASCII as windows-1252 (WHATWG Encoding), so a form on such a page
# sends "€" as %80; Python's ISO-8859-1 would turn that into an invisible control character.
_BROWSER_CODECS = {"iso8859-1": "cp1252", "ascii": "cp1252"}


@lru_cache(maxsize=64)
def page_codec(label: str) -> str | None:
    """The Python codec to read a page charset with, or None for UTF-8, an unknown name or a non-text codec."""
    if not label or not _LABEL.match(label):
        return None
    try:
        name = codecs.lookup(label).name
        b"a".decode(name)  # bytes-to-bytes codecs (base64, zlib, rot13) raise LookupError; empty input would not
    except (LookupError, UnicodeError):
        return None
    if name.startswith("utf-8"):
        return None
    return _BROWSER_CODECS.get(name, name)


def decode_bytes(raw: bytes, codec: str | None) -> str:
    """`raw` as UTF-8 when it is valid UTF-8, else in `codec`; undecodable bytes become U+FFFD."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None:
        try:
            return raw.decode(codec, "replace")
        except (UnicodeError, LookupError, ValueError):
            pass  # a codec that refuses "replace" (idna, punycode): read as if there were no cs
    return raw.decode("utf-8", "replace")


def percent_decode(text: str | bytes, codec: str | None) -> str:
    """Form-decode `text` (`+` is a space, %XX a byte) and read the bytes with decode_bytes."""
    # A JSON bulk item can carry lone surrogates; they cannot be encoded, so they become "?" like any junk.
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return decode_bytes(unquote_to_bytes(raw.replace(b"+", b" ")), codec)


def query_pairs(query: str | bytes, codec: str | None) -> Iterator[tuple[str, str]]:
    """The name/value pairs of a query string in order, values read with `codec` (names are always UTF-8)."""
    raw = query.encode("utf-8", "replace") if isinstance(query, str) else query
    for part in raw.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            yield percent_decode(name, None), percent_decode(value, codec)
