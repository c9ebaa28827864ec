"""examples/custom_domain through `amplify-sandbox deploy` as a user runs it: a `Site:` line per branch
and per host of the domain; each host serves its branch (picked by the Host header) and the apex
redirects to the local www URL; the URLs keep their ports across runs; dropping the next sub-domain
(``-c next_domain=false``) drops only its host."""

from __future__ import annotations

import http.client
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack, copy_app

from .test_examples import CLI, EXAMPLES, _env

SITE_LINE = re.compile(r"^Site: (\S+)  \(app custom-domain (d[a-z0-9]+), branch (\S+?)(?:, domain (\S+))?\)$")


def deploy(app_dir: Path, *args: str) -> dict[str, str]:
    """`amplify-sandbox deploy APP --once [args]`: {branch or host: URL} from its Site: lines."""
    proc = subprocess.run(
        [*CLI, "deploy", str(app_dir), "--once", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sites = {}
    for line in proc.stdout.splitlines():
        m = SITE_LINE.match(line)
        if m:
            url, _, branch, host = m.groups()
            sites[host or branch] = url
    return sites


def get(url: str, path: str = "/") -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` from a local URL, with its host name in the Host header as a browser sends it
    (``*.localhost`` is loopback: the connection goes to 127.0.0.1)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": parts.netloc})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def served_hosts(app_dir: Path) -> tuple[Sandbox, dict[str, str]]:
    """A Sandbox on the app's emulator state (the caller stops it) and {host: local URL}."""
    sb = Sandbox(state_dir=app_dir / ".amplify-sandbox" / "emulator").start()
    (app_id,) = {a for a, _, _ in LocalStack(app_dir, sb, log=lambda _l: None).site_urls()}
    return sb, {host: url for host, _, url in sb.emulator.domain_urls(app_id)}


def test_each_host_serves_its_branch_the_apex_redirects_and_ports_stay(tmp_path):
    app_dir = copy_app(EXAMPLES / "custom_domain", tmp_path / "custom_domain")
    first = deploy(app_dir)
    assert set(first) == {"main", "next", "example.com", "www.example.com", "next.example.com"}
    port = urlsplit(first["www.example.com"]).port
    assert first["www.example.com"] == f"http://www.example.com.localhost:{port}/"
    assert first["example.com"] == f"http://example.com.localhost:{port}/"
    assert first["next.example.com"] == f"http://next.example.com.localhost:{port}/"

    sb, urls = served_hosts(app_dir)
    try:
        assert urls == {k: v for k, v in first.items() if "." in k}  # served again on the same port
        status, headers, _ = get(urls["example.com"], "/about?x=1")
        assert status == 301  # the app's rule https://example.com -> https://www.example.com, path kept
        assert headers["location"] == f"http://www.example.com.localhost:{port}/about?x=1"
        status, _, body = get(urls["www.example.com"])
        assert status == 200 and b'<h1 id="branch">main</h1>' in body
        assert b"main: about" in get(urls["www.example.com"], "/about")[2]
        status, _, body = get(urls["next.example.com"])
        assert status == 200 and b'<h1 id="branch">next</h1>' in body
        assert get(f"http://other.example.com.localhost:{port}/")[0] == 404
    finally:
        sb.stop()

    second = deploy(app_dir, "-c", "next_domain=false")
    assert set(second) == {"main", "next", "example.com", "www.example.com"}  # the branch stays
    assert second == {k: first[k] for k in second}  # every URL on the port it had
    sb, urls = served_hosts(app_dir)
    try:
        assert set(urls) == {"example.com", "www.example.com"}
        assert get(first["next.example.com"])[0] == 404  # its mapping is gone
        assert b'<h1 id="branch">main</h1>' in get(urls["www.example.com"])[2]
    finally:
        sb.stop()
