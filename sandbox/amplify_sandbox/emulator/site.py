"""What a branch's URL serves: its live content, as Amplify Hosting serves a static site, on its own port.

The backend finds the files (content.py's :class:`~.content.SiteIndex`, under its lock); this module
calls the backend and never the reverse. :class:`SiteHandler` answers the requests as Amplify Hosting
does (docs/hosting-rules.md is the ledger, with each rule's source):

1. basic auth, when the branch or its app enables it (the branch's credentials win): 401 with
   ``WWW-Authenticate`` unless the request's ``Authorization`` matches;
2. the app's ``customRules`` through :class:`~.hosting_rules.RuleSet` (re-parsed when they change):
   rewrites, redirects, 404 pages; with no rule, ``/`` and ``dir/`` serve ``index.html``, ``/about``
   serves ``about`` or ``about.html``, ``/dir`` answers 301 to ``/dir/``; nothing found is 403
   AccessDenied (S3's XML);
3. the app's ``customHeaders`` on every response, by the pattern of the address asked for.

What the preview cannot do (a reverse proxy, a country condition) is logged once per distinct note on
the ``amplify_sandbox.emulator`` logger.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import logging
import secrets
import shutil
import threading
from typing import IO, TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .content import SiteFile, SiteSettings, content_type
from .custom_headers import CustomHeadersError, HeaderRule, headers_for, parse_custom_headers
from .hosting_rules import Options, Outcome, RuleSet, access_denied_body
from .httpd import CHUNK, QuietHandler, Response, Server

if TYPE_CHECKING:
    from .models import AmplifyBackend

__all__ = ["SiteHandler", "SiteServer", "authorized", "content_type"]

log = logging.getLogger("amplify_sandbox.emulator")

NOT_FOUND = Response(
    404, b"<html><body><h1>404 Not Found</h1></body></html>\n", {"Content-Type": "text/html; charset=utf-8"}
)
#: the realm of the 401 challenge (assumed: Amplify does not document it)
BASIC_AUTH_REALM = "Amplify"


class SiteServer(Server):
    """One branch's site on its own port. Keeps the app's rules and headers parsed until they change,
    and which notes it has logged."""

    def __init__(self, backend: AmplifyBackend, app_id: str, branch_name: str, port: int = 0) -> None:
        self.backend = backend
        self.app_id = app_id
        self.branch_name = branch_name
        self._parsed: tuple[tuple[str, str], RuleSet, list[HeaderRule]] | None = None
        self._logged: set[str] = set()
        self._lock = threading.Lock()
        super().__init__(port, SiteHandler)

    def route(self, host: str | None) -> tuple[str, Options] | Response:
        """Which branch answers a request with this ``Host`` header, and the rule options for it (or
        the answer itself). A branch's own server serves its branch whatever the host."""
        return self.branch_name, Options()

    def local_location(self, location: str) -> str:
        """A redirect's ``Location`` as the preview sends it (domain_site.py maps the app's own hosts)."""
        return location

    def settings(self, branch_name: str | None = None) -> SiteSettings | None:
        """The branch's settings now (None: the branch is gone)."""
        return self.backend.site_settings(self.app_id, branch_name or self.branch_name)

    def rules(self, settings: SiteSettings) -> tuple[RuleSet, list[HeaderRule]]:
        """The app's customRules and customHeaders, parsed again only when they changed."""
        key = (settings.custom_rules, settings.custom_headers)
        with self._lock:
            if self._parsed is None or self._parsed[0] != key:
                rules = RuleSet(json.loads(settings.custom_rules))
                try:
                    headers = parse_custom_headers(settings.custom_headers)
                except CustomHeadersError as exc:
                    headers = []
                    self._note(f"{exc}; no custom headers are applied")
                self._parsed = (key, rules, headers)
            return self._parsed[1], self._parsed[2]

    def note(self, *notes: str) -> None:
        """Log each distinct note once (what the preview does not do as Amplify does)."""
        with self._lock:
            for text in notes:
                self._note(text)

    def _note(self, text: str) -> None:
        if text not in self._logged:
            self._logged.add(text)
            log.warning("site of app %s, branch %s: %s", self.app_id, self.branch_name, text)


def authorized(header: str | None, credentials: str) -> bool:
    """Whether an ``Authorization`` header carries the ``user:password`` that ``credentials`` (base64,
    as basicAuthCredentials holds it) encodes."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return False
    try:
        given = base64.b64decode(token.strip(), validate=True)
        wanted = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(wanted) and hmac.compare_digest(given, wanted)


class SiteHandler(QuietHandler):
    """Serves one branch's live content like a static Amplify site (GET and HEAD)."""

    server: SiteServer

    branch_name = ""

    def _find(self, name: str) -> SiteFile | None:
        srv = self.server
        return srv.backend.site_file(srv.app_id, self.branch_name, name)

    def serve(self, head: bool) -> None:
        self.read_body()
        srv = self.server
        routed = srv.route(self.headers.get("Host"))
        if isinstance(routed, Response):
            self.send(routed, head)
            return
        self.branch_name, options = routed
        settings = srv.settings(self.branch_name)
        if settings is None or not settings.live:  # the branch is gone, or has never been deployed
            self.send(NOT_FOUND, head)
            return
        rules, header_rules = srv.rules(settings)
        target = urlsplit(self.path)
        path = "/" + unquote(target.path).lstrip("/")

        def custom(status: int) -> dict[str, str]:
            return headers_for(header_rules, path, status)

        if settings.credentials is not None and not authorized(
            self.headers.get("Authorization"), settings.credentials
        ):
            challenge = {"WWW-Authenticate": f'Basic realm="{BASIC_AUTH_REALM}"'}
            body = b"<html><body><h1>401 Unauthorized</h1></body></html>\n"
            headers = {"Content-Type": "text/html; charset=utf-8", **custom(401), **challenge}
            self.send(Response(401, body, headers), head)
            return
        path_and_query = target.path + (f"?{target.query}" if target.query else "")
        for _ in range(3):  # a deploy may replace the content between lookup and open: look again
            outcome = rules.resolve(path_and_query, lambda key: self._find(key) is not None, options)
            srv.note(*outcome.notes)
            if outcome.kind == "redirect" and outcome.location is not None:
                outcome = dataclasses.replace(outcome, location=srv.local_location(outcome.location))
            if outcome.kind != "file":
                self.send(_answer(outcome, custom(outcome.status)), head)
                return
            assert outcome.file is not None
            found = self._find(outcome.file)
            try:
                src = found.opener() if found is not None else None
            except (OSError, ValueError):
                src = None
            if found is not None and src is not None:
                with src:
                    self._stream(outcome.status, found, src, custom(outcome.status), head)
                return
        self.send(_answer(Outcome("denied", 403), custom(403)), head)

    def _stream(
        self, status: int, found: SiteFile, src: IO[bytes], custom: dict[str, str], head: bool
    ) -> None:
        headers = _merged({"Content-Type": found.content_type, "Cache-Control": "no-cache"}, custom)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(found.size))
        self.end_headers()
        if not head:
            shutil.copyfileobj(src, self.wfile, CHUNK)

    def do_GET(self) -> None:  # noqa: N802
        self.serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self.serve(head=True)


def _merged(base: dict[str, str], custom: dict[str, str]) -> dict[str, str]:
    """``base`` with the custom headers on top (header names compared case-insensitively)."""
    lower = {k.lower() for k in custom}
    return {**{k: v for k, v in base.items() if k.lower() not in lower}, **custom}


def _answer(outcome: Outcome, custom: dict[str, str]) -> Response:
    """The response of a redirect, a not-emulated proxy rewrite or a denied address."""
    if outcome.kind == "redirect":
        assert outcome.location is not None
        return Response(outcome.status, b"", _merged({"Location": outcome.location}, custom))
    if outcome.kind == "proxy":
        body = (
            f"Rewriting to another origin ({outcome.location}) is a reverse proxy, which the local "
            "preview does not emulate.\n"
        ).encode()
        return Response(outcome.status, body, _merged({"Content-Type": "text/plain; charset=utf-8"}, custom))
    body = access_denied_body(secrets.token_hex(8).upper())
    return Response(outcome.status, body, _merged({"Content-Type": "application/xml"}, custom))
