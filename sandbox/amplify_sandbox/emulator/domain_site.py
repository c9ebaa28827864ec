"""An app's custom domains in the local preview: one server per app, on its own port, that answers
under each host of the app's domains, ``http://<host>.localhost:PORT/`` (``*.localhost`` resolves to
the loopback address in Chromium, Firefox and curl: RFC 6761).

The ``Host`` header picks the branch (the sub-domain's ``branchName``); rules whose source is a domain
(``https://example.com``) match the host asked for; a redirect to one of the app's own hosts
(``https://www.example.com/x``) is sent to that host's local URL, so a browser stays in the preview.
A host is served once its domain is ``AVAILABLE`` (ledger D12); before, it answers ``503`` naming the
status, as the real host would not answer at all until the domain is verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from .hosting_rules import Options
from .httpd import Response
from .site import NOT_FOUND, SiteServer

if TYPE_CHECKING:
    from .models import AmplifyBackend

LOCAL_SUFFIX = ".localhost"


def host_name(header: str | None) -> str:
    """The host a ``Host`` header names, lower-case, without the port and the ``.localhost`` suffix."""
    host = urlsplit("//" + (header or "")).hostname or ""
    return host.removesuffix(LOCAL_SUFFIX)


def local_url(host: str, port: int) -> str:
    return f"http://{host}{LOCAL_SUFFIX}:{port}/"


def _text(status: int, text: str) -> Response:
    return Response(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class DomainSiteServer(SiteServer):
    """The hosts of one app's custom domains, on one port."""

    def __init__(self, backend: AmplifyBackend, app_id: str, port: int = 0) -> None:
        super().__init__(backend, app_id, "", port)

    def hosts(self) -> dict[str, tuple[str, str, str]]:
        return self.backend.app_hosts(self.app_id) or {}

    def route(self, host: str | None) -> tuple[str, Options] | Response:
        name = host_name(host)
        found = self.hosts().get(name)
        if found is None:
            return NOT_FOUND
        branch, domain, status = found
        if status != "AVAILABLE":
            return _text(
                503,
                f"{name}: the domain {domain} is {status}, not AVAILABLE yet: Amplify serves it once it is "
                "verified (on AWS: add the DNS records the stack's outputs show).\n",
            )
        return branch, Options(host=name)

    def local_location(self, location: str) -> str:
        parts = urlsplit(location)
        host = (parts.hostname or "").lower()
        if parts.scheme in ("http", "https") and host in self.hosts():
            return urlunsplit(
                ("http", f"{host}{LOCAL_SUFFIX}:{self.port}", parts.path or "/", parts.query, "")
            )
        return location

    def urls(self) -> list[tuple[str, str, str]]:
        """(host, branch name, local URL) of every host of the app's domains."""
        return [(host, branch, local_url(host, self.port)) for host, (branch, _, _) in self.hosts().items()]
