"""`helsedata serve`: the researcher portal (pages and /api/v1) on uvicorn. Logic lives in :mod:`portal`."""

from __future__ import annotations

import click

from helsedata.cli import settings


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep 127.0.0.1 behind a TLS proxy; never expose plain HTTP.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
def serve(host: str, port: int) -> None:
    """Run the researcher portal: web pages and the JSON API under /api/v1.

    Create the first account with 'helsedata users add NAME --role admin'. Cookies are marked
    Secure for https requests (X-Forwarded-Proto from a proxy on 127.0.0.1 is trusted) or when
    HELSEDATA_SECURE_COOKIES=1. OIDC login is on when HELSEDATA_OIDC_ISSUER, _CLIENT_ID and
    _CLIENT_SECRET are set (see docs/portal.md).
    """
    import uvicorn

    from portal.web import create_app

    app = create_app(settings().ensure())
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                server_header=False, log_level="info")
