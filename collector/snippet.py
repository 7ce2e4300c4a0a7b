"""The HTML a site owner pastes into their pages, and the tracker script it loads."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

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
    g.async=true; g.src=u+'teller.js'; s.parentNode.insertBefore(g,s);
  }})();
</script>
<noscript><img referrerpolicy="no-referrer-when-downgrade"
  src="{base_url}matomo.php?idsite={site_id}&amp;rec=1" style="border:0" alt=""></noscript>
<!-- End Teller -->
"""


def render_snippet(base_url: str, site_id: int) -> str:
    return SNIPPET_TEMPLATE.format(base_url=base_url, site_id=site_id)


def tracker_script() -> bytes:
    # The minified build of static/teller.js (node collector/static/build.mjs); the readable source sits beside it.
    return files("collector").joinpath("static/teller.min.js").read_bytes()


class TrackerScriptEndpoint:
    """Serves /teller.js. Browsers may cache it for a day; a changed script reaches visitors within that."""

    def __init__(self) -> None:
        self.body = tracker_script()

    async def handle(self, request: Request) -> Response:
        return Response(self.body, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
