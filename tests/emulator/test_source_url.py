"""StartDeployment with a sourceUrl answers at once: the job is PROVISIONING while the emulator downloads
the zip in a thread of its own (ledger Q5), as Amplify creates the job and answers before fetching.

The zip is served by a loopback server of the test that holds back the second half of the body until
the test lets it go, so what the caller sees during the download is checked without timing anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from amplify_sandbox import AmplifyEmulator, FakeClock

from ._helpers import Emu, amplify_client, get, make_zip, put, wait_while_provisioning


class HeldSource(ThreadingHTTPServer):
    """Serves one zip at /site.zip; sends its first half, then waits for ``release`` to send the rest."""

    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.release = threading.Event()
        self.started = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/site.zip"


class _Handler(BaseHTTPRequestHandler):
    server: HeldSource

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:  # noqa: N802
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.server.started.set()
        self.server.release.wait(30)
        self.wfile.write(body[len(body) // 2 :])


@pytest.fixture
def source() -> Iterator[HeldSource]:
    srv = HeldSource(make_zip({"index.html": "pulled", "big.bin": bytes(range(256)) * 512}))
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


def start(emu: Emu, app_id: str, branch: str, url: str) -> dict[str, Any]:
    summary: dict[str, Any] = emu.client.start_deployment(
        appId=app_id, branchName=branch, sourceUrl=url, sourceUrlType="ZIP"
    )["jobSummary"]
    return summary


def test_the_start_answers_before_the_download_and_the_job_is_provisioning(
    emu: Emu, source: HeldSource
) -> None:
    app_id, branch = emu.app_branch()
    summary = start(emu, app_id, branch, source.url)  # answered while the source holds half the zip
    assert summary["status"] == "PROVISIONING" and summary["sourceUrl"] == source.url
    assert source.started.wait(10)
    emu.clock.advance(30)  # however long the download takes, the job stays PROVISIONING
    assert emu.job(app_id, branch, summary["jobId"])["summary"]["status"] == "PROVISIONING"
    assert emu.job(app_id, branch, summary["jobId"])["steps"] == []
    listed = emu.client.list_jobs(appId=app_id, branchName=branch)["jobSummaries"]
    assert [(j["jobId"], j["status"]) for j in listed] == [(summary["jobId"], "PROVISIONING")]
    # a second start meanwhile (a client that timed out and retried) is refused: one job, still fine
    with pytest.raises(emu.client.exceptions.BadRequestException, match="was not finished"):
        start(emu, app_id, branch, source.url)
    source.release.set()
    job = wait_while_provisioning(emu.client, app_id, branch, summary["jobId"])
    assert job["summary"]["status"] in ("PENDING", "RUNNING")
    emu.finish_jobs()
    assert emu.job(app_id, branch, summary["jobId"])["summary"]["status"] == "SUCCEED"
    assert get(emu.emulator.site_url(app_id, branch))[2] == b"pulled"


def test_a_client_with_a_short_read_timeout_gets_its_answer(emu: Emu, source: HeldSource) -> None:
    """The user's report: a read timeout shorter than the download no longer loses the answer."""
    app_id, branch = emu.app_branch()
    impatient = amplify_client(emu.emulator.endpoint, read_timeout=2)
    summary = impatient.start_deployment(appId=app_id, branchName=branch, sourceUrl=source.url)["jobSummary"]
    assert summary["status"] == "PROVISIONING"
    assert source.started.wait(10) and not source.release.is_set()
    source.release.set()
    wait_while_provisioning(emu.client, app_id, branch, summary["jobId"])


def test_stop_job_while_provisioning_cancels_and_the_download_is_dropped(
    emu: Emu, source: HeldSource
) -> None:
    app_id, branch = emu.app_branch()
    live = emu.deploy_zip(app_id, branch, {"index.html": "live"})
    summary = start(emu, app_id, branch, source.url)
    assert source.started.wait(10)
    stopped = emu.client.stop_job(appId=app_id, branchName=branch, jobId=summary["jobId"])["jobSummary"]
    assert stopped["status"] == "CANCELLED"
    source.release.set()
    for thread in list(emu.emulator.backend._downloads):
        thread.join(10)
    emu.finish_jobs()
    job = emu.job(app_id, branch, summary["jobId"])
    assert job["summary"]["status"] == "CANCELLED" and job["steps"] == []
    branch_info = emu.client.get_branch(appId=app_id, branchName=branch)["branch"]
    assert branch_info["activeJobId"] == live
    assert get(emu.emulator.site_url(app_id, branch))[2] == b"live"


def test_a_branch_deleted_while_downloading_gets_nothing_of_the_download(
    emu: Emu, source: HeldSource
) -> None:
    app_id, branch = emu.app_branch()
    start(emu, app_id, branch, source.url)
    assert source.started.wait(10)
    emu.client.delete_branch(appId=app_id, branchName=branch)
    emu.client.create_branch(appId=app_id, branchName=branch)  # the name again, a new branch
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)  # its job "1" too
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "new branch"}))[0] == 200
    source.release.set()
    for thread in list(emu.emulator.backend._downloads):
        thread.join(10)
    listed = emu.client.list_jobs(appId=app_id, branchName=branch)["jobSummaries"]
    assert [(j["jobId"], "sourceUrl" in j) for j in listed] == [("1", False)]
    # the old branch's download did not land in the new branch's job of the same id
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    assert get(emu.emulator.site_url(app_id, branch))[2] == b"new branch"


def test_the_source_url_bandwidth_knob_paces_the_download(emu: Emu) -> None:
    """The knob the handler's PULL tests use to make a download outlast their polls."""
    from amplify_sandbox.emulator import source_url

    body = make_zip({"index.html": "slow"})
    paced: list[int] = []

    def pace(n: int) -> bool:
        paced.append(n)
        return len(paced) < 2  # stop after the second chunk, as a closing backend does

    srv = HeldSource(body + bytes(3 * source_url.PACED_CHUNK))  # a zip with trailing bytes
    srv.release.set()
    try:
        error = source_url.download_zip(srv.url, Path(emu.emulator.backend.store_dir) / "x" / "s.zip", pace)
    finally:
        srv.shutdown()
        srv.server_close()
    assert error == "The emulator stopped while it downloaded the sourceUrl."
    assert paced == [source_url.PACED_CHUNK] * 2
    emu.emulator.knobs.source_url_bandwidth = 1000
    assert emu.emulator.backend._pace(100)  # sleeps 0.1 s of the knob, then goes on


def test_a_download_cut_by_an_emulator_stop_fails_the_job_after_restart(tmp_path: Path) -> None:
    clock = FakeClock(start=1_790_000_000.0)
    srv = HeldSource(make_zip({"index.html": "never"}))
    try:
        with AmplifyEmulator(state_dir=tmp_path, clock=clock) as first:
            client = amplify_client(first.endpoint)
            app_id = client.create_app(name="cut")["app"]["appId"]
            client.create_branch(appId=app_id, branchName="main")
            job_id = client.start_deployment(appId=app_id, branchName="main", sourceUrl=srv.url)[
                "jobSummary"
            ]["jobId"]
            assert srv.started.wait(10)
        with AmplifyEmulator(state_dir=tmp_path, clock=clock) as second:
            job = amplify_client(second.endpoint).get_job(appId=app_id, branchName="main", jobId=job_id)[
                "job"
            ]
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
    assert job["summary"]["status"] == "FAILED"
    assert "stopped while it downloaded the sourceUrl" in job["steps"][0]["statusReason"]
