"""The site server applies an app's hosting settings as Amplify Hosting does: customRules (rewrites,
redirects, 404 pages), customHeaders, basic auth (the branch's over the app's), and the content types
of deployed files. Real HTTP over loopback; the rules themselves are unit-tested in test_hosting_rules."""

from __future__ import annotations

import base64
import gzip
import http.client
import logging
from typing import Any
from urllib.parse import urlsplit

import pytest

from amplify_sandbox.emulator.site import authorized, content_type

from ._helpers import Emu

SPA_SOURCE = "</^[^.]+$|\\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|ttf|map|json)$)([^.]+$)/>"
SITE: dict[str, bytes | str] = {
    "index.html": "<html>spa</html>",
    "404.html": "not here",
    "assets/app.js": "console.log(1)",
    "docs/index.html": "docs",
    "sitemap.xml.gz": gzip.compress(b"<urlset/>", mtime=0),
}
HEADERS_YAML = """customHeaders:
  - pattern: '**'
    headers:
      - key: X-Frame-Options
        value: DENY
      - key: Cache-Control
        value: max-age=60
  - pattern: '*.js'
    headers:
      - key: Cache-Control
        value: max-age=31536000
"""


def fetch(
    url: str, path: str = "", *, auth: str | None = None, method: str = "GET"
) -> tuple[int, Any, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    conn.request(method, "/" + path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.headers, body


def credentials(pair: str) -> str:
    return base64.b64encode(pair.encode()).decode()


def deployed(emu: Emu, **app_kwargs: Any) -> tuple[str, str, str]:
    app_id, branch = emu.app_branch(**app_kwargs)
    emu.deploy_zip(app_id, branch, SITE)
    return app_id, branch, emu.emulator.site_url(app_id, branch)


def test_spa_rewrite_serves_index_for_client_routes_and_files_as_they_are(emu: Emu) -> None:
    _, _, url = deployed(emu, customRules=[{"source": SPA_SOURCE, "target": "/index.html", "status": "200"}])
    status, headers, body = fetch(url, "settings/profile?tab=1")
    assert (status, body) == (200, b"<html>spa</html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    status, headers, body = fetch(url, "assets/app.js")
    assert (status, body) == (200, b"console.log(1)")
    assert "javascript" in headers["Content-Type"]
    status, headers, body = fetch(url, "missing.png")  # a static file the regex leaves alone: denied
    assert status == 403 and b"AccessDenied" in body and headers["Content-Type"] == "application/xml"


def test_redirects_404_pages_and_rules_read_again_after_update_app(emu: Emu) -> None:
    app_id, _, url = deployed(emu)
    assert fetch(url, "old/page")[0] == 403
    emu.client.update_app(
        appId=app_id,
        customRules=[
            {"source": "/old/<*>", "target": "/docs/<*>", "status": "301"},
            {"source": "/tmp", "target": "https://example.com/x", "status": "302"},
            {"source": "/<*>", "target": "/404.html", "status": "404"},
        ],
    )
    status, headers, _ = fetch(url, "old/page?x=1")
    assert status == 301 and headers["Location"] == "/docs/page?x=1"
    status, headers, _ = fetch(url, "tmp")
    assert status == 302 and headers["Location"] == "https://example.com/x"
    status, _, body = fetch(url, "nothing/here")
    assert (status, body) == (404, b"not here")
    assert fetch(url, "docs/")[2] == b"docs"  # exists: the 404 rule does not apply
    # with a 404 rule, a clean URL of a folder counts as missing (amplify-hosting issue 251)
    assert fetch(url, "docs")[0] == 404


def test_custom_headers_on_files_rewrites_redirects_and_errors(emu: Emu) -> None:
    app_id, _, url = deployed(
        emu,
        customHeaders=HEADERS_YAML,
        customRules=[
            {"source": "/go", "target": "/docs/", "status": "301"},
            {"source": "/app", "target": "/index.html", "status": "200"},
        ],
    )
    _, headers, _ = fetch(url, "")
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "max-age=60"
    _, headers, _ = fetch(url, "assets/app.js")  # the later entry wins
    assert headers["Cache-Control"] == "max-age=31536000"
    _, headers, body = fetch(url, "app")  # a rewrite: the headers of the address asked for
    assert body == b"<html>spa</html>" and headers["X-Frame-Options"] == "DENY"
    status, headers, _ = fetch(url, "go")
    assert status == 301 and headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] is None  # Cache-Control only on 200 responses
    status, headers, _ = fetch(url, "nope.txt")
    assert status == 403 and headers["X-Frame-Options"] == "DENY"
    emu.client.update_app(appId=app_id, customHeaders="")
    assert fetch(url, "")[1]["X-Frame-Options"] is None


def test_basic_auth_of_the_app(emu: Emu) -> None:
    _, _, url = deployed(emu, enableBasicAuth=True, basicAuthCredentials=credentials("admin:s3cret"))
    for auth in (None, "admin:wrong", "other:s3cret"):
        status, headers, body = fetch(url, "", auth=auth)
        assert status == 401, auth
        assert headers["WWW-Authenticate"] == 'Basic realm="Amplify"'
        assert b"spa" not in body
    status, _, body = fetch(url, "", auth="admin:s3cret")
    assert (status, body) == (200, b"<html>spa</html>")
    assert fetch(url, "missing", auth="admin:s3cret")[0] == 403
    assert fetch(url, "missing")[0] == 401  # auth first: nothing about the site leaks


def test_branch_basic_auth_takes_precedence_over_the_app(emu: Emu) -> None:
    app_id, branch, url = deployed(emu, enableBasicAuth=True, basicAuthCredentials=credentials("app:one"))
    emu.client.update_branch(
        appId=app_id, branchName=branch, enableBasicAuth=True, basicAuthCredentials=credentials("br:two")
    )
    assert fetch(url, "", auth="br:two")[0] == 200
    assert fetch(url, "", auth="app:one")[0] == 401
    emu.client.update_branch(appId=app_id, branchName=branch, enableBasicAuth=False)
    assert fetch(url, "", auth="app:one")[0] == 200  # the branch's off: the app's applies
    emu.client.update_app(appId=app_id, enableBasicAuth=False)
    assert fetch(url, "")[0] == 200


def test_proxy_rewrites_answer_502_and_each_note_is_logged_once(
    emu: Emu, caplog: pytest.LogCaptureFixture
) -> None:
    _, _, url = deployed(
        emu,
        customRules=[
            {"source": "/api/<*>", "target": "https://api.example.com/<*>", "status": "200"},
            {"source": "/us", "target": "/index.html", "status": "200", "condition": "<US>"},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="amplify_sandbox.emulator"):
        for _ in range(3):
            status, _, body = fetch(url, "api/x")
            assert status == 502 and b"reverse proxy" in body
        assert fetch(url, "us")[0] == 403  # the country rule is skipped: nothing at /us
    proxy = [r for r in caplog.records if "another origin" in r.getMessage()]
    country = [r for r in caplog.records if "country conditions" in r.getMessage()]
    assert len(proxy) == 1 and len(country) == 1


def test_gzipped_files_are_served_as_gzip_without_content_encoding(emu: Emu) -> None:
    _, _, url = deployed(emu)
    status, headers, body = fetch(url, "sitemap.xml.gz")
    assert status == 200 and headers["Content-Type"] == "application/gzip"
    assert headers["Content-Encoding"] is None
    assert gzip.decompress(body) == b"<urlset/>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sitemap.xml.gz", "application/gzip"),
        ("data.tar.gz", "application/gzip"),
        ("a.json.bz2", "application/x-bzip2"),
        ("a.br", "application/octet-stream"),
        ("page.html", "text/html; charset=utf-8"),
        ("font.woff2", "font/woff2"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_authorized_compares_the_decoded_pair() -> None:
    want = credentials("u:p")
    assert authorized("Basic " + credentials("u:p"), want)
    assert authorized("basic  " + credentials("u:p"), want)
    assert not authorized("Basic " + credentials("u:q"), want)
    assert not authorized("Bearer " + credentials("u:p"), want)
    assert not authorized("Basic !!!", want)
    assert not authorized(None, want)
    assert not authorized("Basic ", "")
