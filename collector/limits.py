"""The limits that keep one tracking request from costing Teller more than a hit is worth.

Every limit is answered with a 4xx before anything is written, never with a 500. Values that are merely too
long are cut, as Matomo does, rather than refused: a visitor's hit is worth keeping even when its title is a
novel. The reasons for each value are next to it; they are generous multiples of what matomo.js ever sends.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.actions import MAX_DIMENSION, MAX_URL_LENGTH
from ingest.pipeline import MAX_TITLE_LENGTH
from ingest.useragent import MAX_USER_AGENT_LENGTH

# Path plus query string, in bytes (414). matomo.js moves the parameters into a POST body once the request
# would pass 2000 characters (shouldForcePost), so 8 KiB is four times the most a browser sends in a URL, and
# matches the usual reverse-proxy header buffer (nginx large_client_header_buffers 8k) in front of Teller.
MAX_URL_BYTES = 8 * 1024

# The body of a single request, in bytes (413). A page view is ~1 KiB; an ecommerce order with a few dozen
# items in ec_items stays well under 16 KiB.
MAX_BODY_BYTES = 64 * 1024

# The body of a bulk request, in bytes (413). matomo.js sends at most 50 requests per bulk POST, each a URL of
# at most ~2 KiB before it would switch to POST: ~100 KiB. 1 MiB leaves room for server-side senders.
MAX_BULK_BODY_BYTES = 1024 * 1024

# Requests in one bulk POST (413 with a JSON reason, nothing tracked). matomo.js chunks its queue into 50, so
# 100 is twice that. Each item runs the whole pipeline while the event loop waits, so the batch is capped to
# keep one request from stalling everyone else's.
MAX_BULK_REQUESTS = 100

# Distinct parameters in one hit (400). A page view from matomo.js carries ~30; custom dimensions, product
# fields and plugin additions may double that. 200 bounds the work per hit without refusing a real client.
MAX_PARAMS = 200

# Longer parameter names are dropped, not refused: no Matomo parameter name is longer than ~20 characters
# (dimensionN with a large N included), so such a key is junk that must not reach logs or the pipeline.
MAX_KEY_LENGTH = 100

# The cap for any value not listed below, in characters: bounds memory for parameters Teller does not read.
MAX_VALUE_LENGTH = 8192

# Per-parameter caps, in characters, applied by cutting the value (Matomo truncates these too).
VALUE_LENGTHS = {
    "url": MAX_URL_LENGTH,  # the stored page URL: the pipeline keeps no more
    "urlref": MAX_URL_LENGTH,  # the referrer URL, same reason
    "link": MAX_URL_LENGTH,  # outlink URL
    "download": MAX_URL_LENGTH,  # download URL
    "action_name": MAX_TITLE_LENGTH,  # page title
    "_ref": 1024,  # attribution referrer from the _pk_ref cookie; Matomo reads at most 1024 (Referrers/Base.php)
    "ua": MAX_USER_AGENT_LENGTH,  # user-agent override; the UA parser looks at no more
}
DIMENSION_VALUE_LENGTH = MAX_DIMENSION  # Matomo trims custom dimensions to 250 characters


class TooManyParameters(ValueError):
    """A hit carried more than MAX_PARAMS parameters."""


def value_limit(key: str) -> int:
    limit = VALUE_LENGTHS.get(key)
    if limit is not None:
        return limit
    if key.startswith("dimension") and key[9:].isdigit():
        return DIMENSION_VALUE_LENGTH
    return MAX_VALUE_LENGTH


def clean_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters as the pipeline may see them: long names dropped, long values cut, the count bounded.

    Later pairs win over earlier ones with the same name, so callers pass the body before the query string.
    Raises TooManyParameters past MAX_PARAMS distinct names.
    """
    params: dict[str, str] = {}
    for key, value in pairs:
        if len(key) > MAX_KEY_LENGTH:
            continue
        params[key] = value[:value_limit(key)]
        if len(params) > MAX_PARAMS:
            raise TooManyParameters(f"more than {MAX_PARAMS} parameters")
    return params
