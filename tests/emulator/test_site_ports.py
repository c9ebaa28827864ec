"""Site URLs that stay put across emulators on one state folder (ports.py), and the domain server's
answers for hosts it does not serve yet (domain_site.py)."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path
from urllib.parse import urlsplit

from amplify_sandbox import AmplifyEmulator
from amplify_sandbox.emulator.ports import PortBook

from ._helpers import amplify_client, make_zip, put


def _deployed(emulator: AmplifyEmulator) -> str:
    c = amplify_client(emulator.endpoint)
    app_id = c.create_app(name="site")["app"]["appId"]
    c.create_branch(appId=app_id, branchName="main")
    dep = c.create_deployment(appId=app_id, branchName="main")
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "<h1>main</h1>"}))[0] == 200
    c.start_deployment(appId=app_id, branchName="main", jobId=dep["jobId"])
    return str(app_id)


def test_a_branch_keeps_its_port_while_it_is_free(tmp_path: Path) -> None:
    with AmplifyEmulator(state_dir=tmp_path) as first:
        app_id = _deployed(first)
        url = first.site_url(app_id, "main")
    with AmplifyEmulator(state_dir=tmp_path) as second:
        assert second.site_url(app_id, "main") == url
    port = urlsplit(url).port
    assert port is not None
    with socket.socket() as squatter:  # another process took the port meanwhile
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with AmplifyEmulator(state_dir=tmp_path) as third:
            moved = third.site_url(app_id, "main")
    assert moved != url
    with AmplifyEmulator(state_dir=tmp_path) as fourth:  # the new port is the one remembered now
        assert fourth.site_url(app_id, "main") == moved


def test_a_host_of_a_domain_not_available_yet_answers_503_naming_its_status(tmp_path: Path) -> None:
    with AmplifyEmulator(state_dir=tmp_path) as emulator:
        emulator.set_knobs(domain_verification="pending", domain_step_seconds=0)
        app_id = _deployed(emulator)
        c = amplify_client(emulator.endpoint)
        c.create_domain_association(
            appId=app_id,
            domainName="example.com",
            subDomainSettings=[{"prefix": "www", "branchName": "main"}],
        )
        ((host, branch, url),) = emulator.domain_urls(app_id)
        assert (host, branch) == ("www.example.com", "main")
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(url).port, timeout=10)
        conn.request("GET", "/", headers={"Host": urlsplit(url).netloc})
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        assert resp.status == 503 and "the domain example.com is PENDING_VERIFICATION" in body
        c.delete_domain_association(appId=app_id, domainName="example.com")
        assert emulator.domain_urls(app_id) == []


def _get(url: str, path: str = "/") -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": parts.netloc})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_hosts_pick_their_branch_and_own_host_redirects_stay_local() -> None:
    with AmplifyEmulator() as emulator:
        emulator.set_knobs(domain_step_seconds=0, job_duration=0)
        c = amplify_client(emulator.endpoint)
        app_id = _deployed(emulator)
        c.create_branch(appId=app_id, branchName="next")
        dep = c.create_deployment(appId=app_id, branchName="next")
        assert put(dep["zipUploadUrl"], make_zip({"index.html": "<h1>next</h1>"}))[0] == 200
        c.start_deployment(appId=app_id, branchName="next", jobId=dep["jobId"])
        c.update_app(
            appId=app_id,
            customRules=[
                {"source": "https://example.com", "target": "https://www.example.com", "status": "302"},
                {"source": "/docs", "target": "https://docs.other.org/", "status": "301"},
            ],
        )
        c.create_domain_association(
            appId=app_id,
            domainName="example.com",
            subDomainSettings=[
                {"prefix": "", "branchName": "main"},
                {"prefix": "www", "branchName": "main"},
                {"prefix": "next", "branchName": "next"},
            ],
        )
        urls = {host: url for host, _, url in emulator.domain_urls(app_id)}
        port = urlsplit(urls["www.example.com"]).port
        status, headers, _ = _get(urls["example.com"], "/a/b?q=1")
        assert (status, headers["location"]) == (302, f"http://www.example.com.localhost:{port}/a/b?q=1")
        assert _get(urls["www.example.com"])[2] == b"<h1>main</h1>"
        assert _get(urls["next.example.com"])[2] == b"<h1>next</h1>"
        status, headers, _ = _get(urls["www.example.com"], "/docs")
        assert (status, headers["location"]) == (301, "https://docs.other.org/")  # not one of the app's hosts
        # the branch URL has no host: the domain rule does not apply there
        assert _get(emulator.site_url(app_id, "main"))[0] == 200


class _FakeServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.closed = False

    def server_close(self) -> None:
        self.closed = True


def test_a_new_site_avoids_a_port_another_site_remembers(tmp_path: Path) -> None:
    book = PortBook(tmp_path / "site-ports.json")
    book.serve("branch A main", lambda port: _FakeServer(port or 41000))  # type: ignore[arg-type, return-value]
    offered = iter([41000, 41001])  # the OS offers A's port first (A is not running now)
    made: list[_FakeServer] = []

    def make(port: int) -> _FakeServer:
        made.append(_FakeServer(port or next(offered)))
        return made[-1]

    got = book.serve("branch B main", make)  # type: ignore[arg-type, type-var]
    assert got.port == 41001 and made[0].closed
    assert PortBook(tmp_path / "site-ports.json").get("branch A main") == 41000
    assert PortBook(tmp_path / "site-ports.json").get("branch B main") == 41001
