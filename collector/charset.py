"""Re-reading the page-made parameters of a hit in its page charset (`cs`), from the bytes as they arrived.

Parameters are first decoded as UTF-8 like everything else (collector.limits.clean_params), which turns the
bytes of another charset into U+FFFD for good. When `cs` names a charset other than UTF-8, `url`, `urlref`,
`action_name` and `search` are read again from the raw query string or body with ingest.charset's rule: valid
UTF-8 stays UTF-8, other bytes are read in the page charset. Only those four: every other parameter is made by
the tracker, which encodes UTF-8. An unknown `cs` changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from collector.limits import value_limit
from ingest.charset import PAGE_TEXT_PARAMS, page_codec, query_pairs


def apply_page_charset(params: dict[str, str], raw_queries: Iterable[bytes | str]) -> None:
    """Re-read the page-made parameters of `params` from `raw_queries`, given in the order clean_params saw them
    (so the later source wins again, as the query string wins over the body)."""
    codec = page_codec(params.get("cs", ""))
    if codec is None:
        return
    for raw in raw_queries:
        for name, value in query_pairs(raw, codec):
            if name in PAGE_TEXT_PARAMS:
                params[name] = value[:value_limit(name)]
