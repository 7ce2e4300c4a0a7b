"""The opt-out widget a site embeds in its privacy policy page, and the script behind it.

The script (static/optout.js) renders a checkbox "Yes, count my visit anonymously". With Teller's or Matomo's
tracker on the page it pushes `optUserOut` / `forgetUserOptOut`; without one it sets or deletes the
`mtm_consent_removed` cookie on the site's own host, which teller.js and matomo.js both honour.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

OPTOUT_TEMPLATE = """\
<div id="teller-opt-out"></div>
<script src="{base_url}optout.js" data-lang="auto"></script>
"""


def render_optout_embed(base_url: str) -> str:
    """The two lines to paste into a privacy policy page; base_url ends with '/' like the snippet's."""
    return OPTOUT_TEMPLATE.format(base_url=base_url)


def optout_script() -> bytes:
    # Served as written: readable ES5, under 2 KB gzipped, so no minified build.
    return files("collector").joinpath("static/optout.js").read_bytes()


class OptOutScriptEndpoint:
    """Serves /optout.js. Browsers may cache it for a day; a changed script reaches visitors within that."""

    def __init__(self) -> None:
        self.body = optout_script()

    async def handle(self, request: Request) -> Response:
        return Response(self.body, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
