"""`GET /healthz` and `GET /readyz`: the probes of a load balancer or Kubernetes (issue 9).

Liveness answers whenever the event loop does, draining or not: a draining server is
alive, and a failing liveness probe would get it killed mid-drain. Readiness is 200 only
while the voices are loaded and no drain has begun: then the server wants new work.
Neither needs an API key (server/auth.py `PUBLIC_PATHS`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ttsd.server.drain import Drain


async def healthz(request: Request) -> JSONResponse:
    """Liveness: 200 while the server answers at all."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when loaded and not draining, else 503 saying which."""
    drain: Drain = request.app.state.drain
    if drain.ready:
        return JSONResponse({"status": "ready"})
    status = "draining" if drain.draining else "starting"
    return JSONResponse({"status": status}, status_code=503, headers={"Cache-Control": "no-store"})
