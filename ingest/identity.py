"""Who is this visitor: the Matomo visitor id when the browser sent one, else a cookieless daily hash.

Precedence follows Matomo (Request::getVisitorId): `uid` (as sha1(uid)[:16]), then `cid`, then `_id` (ignored
on cookieless sites). Without any of them the id is a keyed hash of site, local day, masked IP and user agent
under that day's salt (ingest/salts.py), so the same browser is recognised within a day but cannot be linked
across days once the salt is deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import date

HEX16_LENGTH = 16


class InvalidVisitorId(ValueError):
    """`cid` must be exactly 16 hexadecimal characters (Matomo answers 400 otherwise)."""


_HEX16 = re.compile(r"[0-9a-fA-F]{16}")


def _hex16(value: str) -> int | None:
    # Only plain hex digits: int(x, 16) would also take "+…", "0x…" and underscores.
    head = value[:HEX16_LENGTH]
    return int(head, 16) if _HEX16.fullmatch(head) else None


def visitor_id(params: dict[str, str], site_id: int, local_day: date, masked_ip: str, user_agent: str,
               secret_key: bytes, salt: Callable[[], bytes], cookieless: bool = False) -> int:
    """`salt` is called only when the id falls back to the cookieless hash (it may query ClickHouse)."""
    uid = params.get("uid", "")
    if uid:
        return int(hashlib.sha1(uid.encode("utf-8")).hexdigest()[:HEX16_LENGTH], 16)  # noqa: S324 - Matomo's id
    cid = params.get("cid", "")
    if cid:
        parsed = _hex16(cid) if len(cid) == HEX16_LENGTH else None
        if parsed is None:
            raise InvalidVisitorId("cid must be 16 hexadecimal characters")
        return parsed
    from_cookie = None if cookieless else _hex16(params.get("_id", ""))
    if from_cookie is not None:
        return from_cookie
    message = f"{site_id}|{local_day.isoformat()}|{masked_ip}|{user_agent}".encode()
    digest = hmac.new(secret_key + salt(), message, hashlib.blake2b).digest()
    return int.from_bytes(digest[:8], "big")
