"""state_dir: a later emulator on the same folder sees the same apps, branches, jobs and live site."""

from __future__ import annotations

from pathlib import Path

import pytest

from amplify_sandbox import AmplifyEmulator, FakeClock, Sandbox

from ._helpers import Emu, amplify_client, get, make_zip, put


def test_state_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    state = tmp_path / "state"
    with AmplifyEmulator(state_dir=state, clock=clock) as first:
        emu = Emu(first, clock, amplify_client(first.endpoint))
        app_id, branch = emu.app_branch("feature/persist")
        emu.deploy_zip(app_id, branch, {"index.html": "v1"})
        emu.deploy_files(app_id, branch, {"index.html": b"v2", "x.css": b"x"})
        pending = emu.client.create_deployment(appId=app_id, branchName=branch)  # left PENDING
    with AmplifyEmulator(state_dir=state, clock=clock) as second:
        client = amplify_client(second.endpoint)
        assert client.get_app(appId=app_id)["app"]["name"] == "site"
        assert client.get_branch(appId=app_id, branchName=branch)["branch"]["activeJobId"] == "2"
        jobs = client.list_jobs(appId=app_id, branchName=branch)["jobSummaries"]
        assert [(j["jobId"], j["status"]) for j in jobs] == [
            ("3", "PENDING"),
            ("2", "SUCCEED"),
            ("1", "SUCCEED"),
        ]
        site = second.site_url(app_id, branch)
        assert get(site)[2] == b"v2" and get(site + "x.css")[2] == b"x"
        # the pending job's upload URL still points at the old port: its path and signature still hold
        old_url = pending["zipUploadUrl"]
        new_url = second.endpoint + old_url[old_url.index("/_upload/") :]
        assert put(new_url, make_zip({"index.html": "v3"}))[0] == 200
        client.start_deployment(appId=app_id, branchName=branch, jobId=pending["jobId"])
        clock.advance(5)
        assert (
            client.get_job(appId=app_id, branchName=branch, jobId="3")["job"]["summary"]["status"]
            == "SUCCEED"
        )
        assert get(site)[2] == b"v3"


def test_a_state_dir_is_used_by_one_emulator_at_a_time(tmp_path: Path) -> None:
    with AmplifyEmulator(state_dir=tmp_path):
        with pytest.raises(RuntimeError, match="in use by another process"):
            AmplifyEmulator(state_dir=tmp_path)


def test_sandbox_with_state_dir(tmp_path: Path) -> None:
    with Sandbox(state_dir=tmp_path) as sb:
        app_id = sb.client("amplify").create_app(name="kept")["app"]["appId"]
    with Sandbox(state_dir=tmp_path) as sb:
        assert sb.client("amplify").get_app(appId=app_id)["app"]["name"] == "kept"
    assert (tmp_path / "state.json").exists()
