"""`helsedata serve`: the researcher portal (pages and /api/v1) on uvicorn. Logic lives in :mod:`portal`."""

from __future__ import annotations

import click

from helsedata.cli import settings
from helsedata.cli.bokmal import Command


@click.command(name="serve", cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADRESSE",
              help="Adressen det lyttes på. Behold 127.0.0.1 bak en TLS-proxy; gjør aldri ren HTTP tilgjengelig.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), metavar="PORT", help="TCP-port.")
def serve(host: str, port: int) -> None:
    """Kjør forskerportalen: nettsidene og JSON-API-et under /api/v1.

    Lag den første kontoen med 'helsedata users add NAVN --role admin'. Informasjonskapsler merkes
    Secure for https-forespørsler (X-Forwarded-Proto fra en proxy på 127.0.0.1 er til å stole på)
    eller når HELSEDATA_SECURE_COOKIES=1. OIDC-innlogging er på når HELSEDATA_OIDC_ISSUER,
    _CLIENT_ID og _CLIENT_SECRET er satt (se docs/portal.md).
    """
    import uvicorn

    from portal.web import create_app

    app = create_app(settings().ensure())
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                server_header=False, log_level="info")
