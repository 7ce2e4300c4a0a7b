"""The HTML a site owner pastes into their pages, and the tracker script it loads."""

from __future__ import annotations

import hashlib
import json
import re
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

from ingest.numbers import whole_number
from ingest.sites import Site, SiteCache

SNIPPET_TEMPLATE = """\
<!-- Teller analytics (Matomo-compatible) -->
<script>
  var _paq = window._paq = window._paq || [];
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);
  (function() {{
    var u="{base_url}";
    _paq.push(['setTrackerUrl', u+'matomo.php']);
    _paq.push(['setSiteId', '{site_id}']);
    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];
    g.async=true; g.src=u+'teller.js?idsite={site_id}'; s.parentNode.insertBefore(g,s);
  }})();
</script>
<noscript><img referrerpolicy="no-referrer-when-downgrade"
  src="{base_url}matomo.php?idsite={site_id}&amp;rec=1" style="border:0" alt=""></noscript>
<!-- End Teller -->
"""


def render_snippet(base_url: str, site_id: int) -> str:
    return SNIPPET_TEMPLATE.format(base_url=base_url, site_id=site_id)


SCRIPT_HEADERS = {"Cache-Control": "public, max-age=3600"}
_IPV4 = re.compile(r"^[0-9.]+$")


def tracker_script() -> bytes:
    # The minified build of static/teller.js (node collector/static/build.mjs); the readable source sits beside it.
    return files("collector").joinpath("static/teller.min.js").read_bytes()


def extras_script() -> bytes:
    # The minified build of static/teller-extra.js: what teller.js loads when a page needs more than the core.
    return files("collector").joinpath("static/teller-extra.min.js").read_bytes()


def cookie_hash(domain_and_path: str) -> str:
    """matomo.js's cookie-name suffix: the first 4 hex digits of the SHA-1 of the UTF-8 of cookie domain + path."""
    return hashlib.sha1(domain_and_path.encode()).hexdigest()[:4]  # noqa: S324 - a name, not security


def cookie_hashes(site: Site) -> dict[str, str]:
    """The cookie-name hashes of the site's own hosts with path "/", keyed by the text matomo.js hashes.

    For each domain (example.com, www.example.com or *.example.com): example.com, www.example.com and
    .example.com, the cookie domain of setCookieDomain('*.example.com'). With these the core tracker needs no
    SHA-1; any other host, cookie domain or path makes it load teller-extra.js, which has one."""
    hosts: dict[str, None] = {}
    for domain in site.domains:
        bare = domain.removeprefix("*.")
        if _IPV4.match(bare):
            hosts[bare] = None
            continue
        bare = bare.removeprefix("www.")
        hosts.update(dict.fromkeys((bare, "www." + bare, "." + bare)))
    return {host + "/": cookie_hash(host + "/") for host in hosts}


def site_config(site: Site) -> dict[str, object]:
    """The site's settings the tracker applies before anything else (its `window.tellerConfig`)."""
    return {"visitorCookieTimeout": site.visitor_cookie_seconds, "sessionCookieTimeout": site.session_cookie_seconds,
            "referralCookieTimeout": site.referral_cookie_seconds, "cookieless": site.cookieless,
            "respectDoNotTrack": site.respect_dnt, "cookieHashes": cookie_hashes(site)}


class TrackerScriptEndpoint:
    """Serves /teller.js (and /matomo.js, /piwik.js, so a Matomo embed works by changing only its host).

    With ?idsite=N the site's cookie lifetimes, cookieless mode and Do Not Track choice are baked in front of
    the script; they win over a page's own tellerConfig, because they are the site's published policy. So are
    the cookie-name hashes of the site's domains, which spare most pages the extras (teller-extra.js).
    Browsers may cache it for an hour, so a changed setting reaches visitors within that."""

    def __init__(self, sites: SiteCache | None = None) -> None:
        self.body = tracker_script()
        self.sites = sites

    async def handle(self, request: Request) -> Response:
        body = self.body
        site_id = whole_number(request.query_params.get("idsite", ""), limit=2**32 - 1)
        site = self.sites.get(site_id) if self.sites is not None and site_id is not None else None
        if site is not None:
            settings = json.dumps(site_config(site), separators=(",", ":"))
            body = (b"(function(w,c,k){w.tellerConfig=w.tellerConfig||{};for(k in c)w.tellerConfig[k]=c[k]})"
                    b"(window," + settings.encode() + b");\n" + body)
        return Response(body, media_type="application/javascript", headers=SCRIPT_HEADERS)


class ExtrasScriptEndpoint:
    """Serves /teller-extra.js, which teller.js loads from beside its tracker URL when a page needs more than the
    core: SHA-1 for other cookie names, consent and opt-out, Do Not Track, heartbeat, history tracking and a few
    rarer calls (collector/static/README.md). Cached like the tracker."""

    def __init__(self) -> None:
        self.body = extras_script()

    async def handle(self, request: Request) -> Response:
        return Response(self.body, media_type="application/javascript", headers=SCRIPT_HEADERS)
