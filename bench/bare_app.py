"""The baseline for the ingest benchmark: a Starlette app that only answers 204 on /matomo.php.

Served exactly like Teller (`uvicorn bench.bare_app:app`, one worker, access log, proxy headers and the server
header off), so the ratio Teller/bare measures what Teller's ingest path costs on top of the web stack.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def beacon(request: Request) -> Response:
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


app = Starlette(routes=[Route("/matomo.php", beacon, methods=["GET", "POST"])])
