"""The stop page: where blocked names are sent (RPZ CNAME). It answers every host and path with a
notice and a helpline, in the configured language (Norwegian and English ship), and logs nothing
about visitors: no access log, no addresses, no user agents, no cookies, no third-party assets.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Access blocked",
        "heading": "This site has been blocked",
        "body": (
            "Access to this address has been blocked because it has been found to distribute sexual abuse "
            "material depicting children. Viewing, downloading or sharing such material is a criminal offence "
            "and harms real children."
        ),
        "help": "If you are worried about your own thoughts or behaviour, confidential and anonymous help is available:",
        "helpline_name": "Stop It Now",
        "helpline_url": "https://www.stopitnow.org/",
        "report": "If you think this block is a mistake, contact the operator of this network.",
    },
    "no": {
        "title": "Tilgang blokkert",
        "heading": "Dette nettstedet er blokkert",
        "body": (
            "Tilgangen til denne adressen er blokkert fordi den er funnet å spre materiale som viser seksuelle "
            "overgrep mot barn. Å se på, laste ned eller dele slikt materiale er straffbart og skader virkelige barn."
        ),
        "help": "Er du bekymret for egne tanker eller egen atferd, finnes det anonym og taushetsbelagt hjelp:",
        "helpline_name": "Det finnes hjelp",
        "helpline_url": "https://www.detfinnesjelp.no/",
        "report": "Mener du at blokkeringen er feil, kontakt operatøren av dette nettverket.",
    },
}


@dataclass(frozen=True)
class StopPageConfig:
    language: str = "en"
    helpline_url: str | None = None  # overrides the shipped helpline for the language
    helpline_name: str | None = None
    negotiate: bool = True  # honour Accept-Language when it names a shipped language


def render(config: StopPageConfig, accept_language: str | None = None) -> str:
    language = config.language
    if config.negotiate and accept_language:
        for part in accept_language.split(","):
            code = part.split(";")[0].strip().lower()[:2]
            code = "no" if code in ("nb", "nn") else code
            if code in TEXTS:
                language = code
                break
    text = {k: html.escape(v) for k, v in TEXTS[language].items()}
    url = html.escape(config.helpline_url or TEXTS[language]["helpline_url"], quote=True)
    name = html.escape(config.helpline_name or TEXTS[language]["helpline_name"])
    return (
        f"<!doctype html><html lang={language}><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><meta name=referrer content=no-referrer>"
        f"<title>{text['title']}</title><style>body{{font-family:system-ui,sans-serif;max-width:40rem;"
        f"margin:3rem auto;padding:0 1rem;line-height:1.5}}</style></head><body>"
        f'<h1>{text["heading"]}</h1><p>{text["body"]}</p><p>{text["help"]} <a href="{url}">{name}</a></p>'
        f"<p><small>{text['report']}</small></p></body></html>"
    )


def make_handler(config: StopPageConfig) -> type[BaseHTTPRequestHandler]:
    class StopPageHandler(BaseHTTPRequestHandler):
        server_version = "stop-page"
        sys_version = ""

        def log_message(self, format: str, *args: object) -> None:
            """Deliberately silent: nothing about a visitor is written anywhere."""

        def log_error(self, format: str, *args: object) -> None:
            """Silent too; BaseHTTPRequestHandler would print the client address."""

        def _send(self, body: bytes | None) -> None:
            page = render(config, self.headers.get("Accept-Language")).encode()
            self.send_response(451)  # Unavailable For Legal Reasons; browsers show the page
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
            self.end_headers()
            if body is not None:
                self.wfile.write(page)

        def do_GET(self) -> None:
            self._send(b"")

        def do_POST(self) -> None:
            self._send(b"")

        def do_HEAD(self) -> None:
            self._send(None)

    return StopPageHandler


def serve(host: str, port: int, config: StopPageConfig) -> ThreadingHTTPServer:
    """A server ready to `serve_forever()`; binding errors surface here."""
    server = ThreadingHTTPServer((host, port), make_handler(config))
    server.daemon_threads = True
    return server
