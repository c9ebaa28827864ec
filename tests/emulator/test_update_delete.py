"""UpdateApp, UpdateBranch, DeleteApp and DeleteBranch through real boto3 over HTTP."""

from __future__ import annotations

import pytest

from amplify_sandbox import AmplifyEmulator

from ._helpers import Emu, amplify_client, get, put


def test_update_app_sets_and_clears_fields(emu: Emu) -> None:
    c = emu.client
    app = c.create_app(name="site", description="first", environmentVariables={"A": "1"})["app"]
    app_id = app["appId"]
    emu.clock.advance(10)
    rules = [{"source": "/<*>", "target": "/index.html", "status": "404-200"}]
    updated = c.update_app(
        appId=app_id,
        name="renamed",
        environmentVariables={"B": "2"},
        customRules=rules,
        customHeaders="customHeaders:\n  - pattern: '**'\n",
        enableBasicAuth=True,
        basicAuthCredentials="dXNlcjpwYXNz",
        enableBranchAutoDeletion=True,
    )["app"]
    assert updated["updateTime"] > app["updateTime"]
    got = c.get_app(appId=app_id)["app"]
    assert got["name"] == "renamed"
    assert got["description"] == "first"  # absent member: left as it was
    assert got["environmentVariables"] == {"B": "2"}  # a map replaces the whole map
    assert got["customRules"] == rules
    assert got["customHeaders"].startswith("customHeaders:")
    assert (got["enableBasicAuth"], got["basicAuthCredentials"]) == (True, "dXNlcjpwYXNz")
    assert got["enableBranchAutoDeletion"] is True

    c.update_app(
        appId=app_id,
        description="",
        environmentVariables={},
        customRules=[],
        customHeaders="",
        enableBasicAuth=False,
        basicAuthCredentials="",
    )
    got = c.get_app(appId=app_id)["app"]
    assert (got["name"], got["description"], got["environmentVariables"], got["customRules"]) == (
        "renamed",
        "",
        {},
        [],
    )
    assert "customHeaders" not in got and "basicAuthCredentials" not in got
    assert got["enableBasicAuth"] is False


def test_create_app_keeps_the_fields_update_app_sets(emu: Emu) -> None:
    rules = [{"source": "/old", "target": "/new", "status": "301"}]
    app_id = emu.client.create_app(name="s", customRules=rules, customHeaders="h", buildSpec="b")["app"][
        "appId"
    ]
    got = emu.client.get_app(appId=app_id)["app"]
    assert (got["customRules"], got["customHeaders"], got["buildSpec"]) == (rules, "h", "b")


def test_update_app_refuses_git_members_and_malformed_values(emu: Emu) -> None:
    c = emu.client
    app_id, _ = emu.app_branch()
    with pytest.raises(c.exceptions.BadRequestException, match="Git repository"):
        c.update_app(appId=app_id, repository="https://github.com/o/r")
    with pytest.raises(c.exceptions.BadRequestException, match="platform"):
        c.update_app(appId=app_id, platform="MAINFRAME")
    raw = amplify_client(emu.emulator.endpoint, parameter_validation=False)  # what botocore would refuse
    with pytest.raises(raw.exceptions.BadRequestException, match="source and target"):
        raw.update_app(appId=app_id, customRules=[{"source": "/a", "target": "/b", "status": 301}])
    with pytest.raises(raw.exceptions.BadRequestException, match="boolean"):
        raw.update_app(appId=app_id, enableBasicAuth="yes")
    with pytest.raises(c.exceptions.NotFoundException):
        c.update_app(appId="dnothere", name="x")
    assert c.get_app(appId=app_id)["app"]["repository"] == ""


def test_update_branch(emu: Emu) -> None:
    c = emu.client
    app_id, _ = emu.app_branch("feature/x")
    branch = c.update_branch(
        appId=app_id,
        branchName="feature/x",
        description="d",
        stage="PRODUCTION",
        environmentVariables={"K": "V"},
        enablePerformanceMode=True,
        ttl="30",
    )["branch"]
    assert branch["branchName"] == "feature/x"
    got = c.get_branch(appId=app_id, branchName="feature/x")["branch"]
    assert (got["description"], got["stage"], got["environmentVariables"], got["ttl"]) == (
        "d",
        "PRODUCTION",
        {"K": "V"},
        "30",
    )
    assert got["enablePerformanceMode"] is True
    assert got["displayName"] == "feature-x"
    c.update_branch(appId=app_id, branchName="feature/x", description="", environmentVariables={})
    got = c.get_branch(appId=app_id, branchName="feature/x")["branch"]
    assert (got["description"], got["environmentVariables"], got["stage"]) == ("", {}, "PRODUCTION")
    with pytest.raises(c.exceptions.NotFoundException):
        c.update_branch(appId=app_id, branchName="nope", description="x")
    with pytest.raises(c.exceptions.BadRequestException, match="stage"):
        c.update_branch(appId=app_id, branchName="feature/x", stage="LIVE")


def test_delete_branch_removes_jobs_content_and_site(emu: Emu) -> None:
    c = emu.client
    app_id, _ = emu.app_branch("main")
    c.create_branch(appId=app_id, branchName="other")
    emu.deploy_zip(app_id, "main", {"index.html": "live"})
    url = emu.emulator.site_url(app_id, "main")
    assert get(url)[2] == b"live"
    # an unfinished job does not block the delete (nothing documented says it should)
    pending = c.create_deployment(appId=app_id, branchName="main")
    content = emu.emulator.backend.content_dir / app_id
    assert any(content.iterdir())

    deleted = c.delete_branch(appId=app_id, branchName="main")["branch"]
    assert deleted["branchName"] == "main" and deleted["branchArn"].endswith("/branches/main")
    assert deleted["totalNumberOfJobs"] == "2"
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_branch(appId=app_id, branchName="main")
    with pytest.raises(c.exceptions.BadRequestException):  # ListJobs declares no NotFound
        c.list_jobs(appId=app_id, branchName="main")
    with pytest.raises(c.exceptions.NotFoundException):
        c.delete_branch(appId=app_id, branchName="main")
    with pytest.raises(KeyError):
        emu.emulator.site_url(app_id, "main")
    with pytest.raises(OSError):
        get(url)  # its site server is stopped
    assert not list(content.iterdir())  # jobs and live content are gone from disk
    assert put(pending["zipUploadUrl"], b"PK")[0] == 403  # its upload URLs are dead
    assert [b["branchName"] for b in [c.get_branch(appId=app_id, branchName="other")["branch"]]] == ["other"]

    # the name can be used again: a fresh branch, jobs numbered from 1
    c.create_branch(appId=app_id, branchName="main")
    assert emu.deploy_zip(app_id, "main", {"index.html": "again"}) == "1"
    assert get(emu.emulator.site_url(app_id, "main"))[2] == b"again"


def test_delete_app_removes_its_branches(emu: Emu) -> None:
    c = emu.client
    app_id, _ = emu.app_branch("main")
    c.create_branch(appId=app_id, branchName="feature/y")
    emu.deploy_zip(app_id, "feature/y", {"index.html": "y"})
    url = emu.emulator.site_url(app_id, "feature/y")
    keep_id, _ = emu.app_branch("main")

    deleted = c.delete_app(appId=app_id)["app"]
    assert deleted["appId"] == app_id and deleted["name"] == "site"
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_app(appId=app_id)
    with pytest.raises(c.exceptions.NotFoundException):
        c.get_branch(appId=app_id, branchName="feature/y")
    with pytest.raises(c.exceptions.NotFoundException):
        c.delete_app(appId=app_id)
    with pytest.raises(OSError):
        get(url)
    assert not (emu.emulator.backend.content_dir / app_id).exists()
    assert c.get_branch(appId=keep_id, branchName="main")["branch"]["branchName"] == "main"


def test_a_running_job_of_a_deleted_branch_no_longer_counts_toward_the_quota(emu: Emu) -> None:
    emu.emulator.knobs.max_concurrent_jobs = 1
    c = emu.client
    app_id, _ = emu.app_branch("a")
    c.create_branch(appId=app_id, branchName="b")
    emu.deploy_zip(app_id, "a", {"index.html": "a"}, finish=False)
    blocked = c.create_deployment(appId=app_id, branchName="b")
    put(blocked["zipUploadUrl"], b"")  # not even a zip: the start is refused before that matters
    with pytest.raises(c.exceptions.LimitExceededException):
        c.start_deployment(appId=app_id, branchName="b", jobId=blocked["jobId"])
    c.delete_branch(appId=app_id, branchName="a")
    c.start_deployment(appId=app_id, branchName="b", jobId=blocked["jobId"])


def test_deletes_and_updates_persist(tmp_path) -> None:
    with AmplifyEmulator(state_dir=tmp_path) as first:
        c = amplify_client(first.endpoint)
        gone = c.create_app(name="gone")["app"]["appId"]
        kept = c.create_app(name="kept")["app"]["appId"]
        c.create_branch(appId=kept, branchName="main")
        c.create_branch(appId=kept, branchName="old")
        c.update_app(appId=kept, customRules=[{"source": "/a", "target": "/b"}])
        c.update_branch(appId=kept, branchName="main", stage="BETA")
        c.delete_branch(appId=kept, branchName="old")
        c.delete_app(appId=gone)
    with AmplifyEmulator(state_dir=tmp_path) as second:
        c = amplify_client(second.endpoint)
        with pytest.raises(c.exceptions.NotFoundException):
            c.get_app(appId=gone)
        with pytest.raises(c.exceptions.NotFoundException):
            c.get_branch(appId=kept, branchName="old")
        assert c.get_app(appId=kept)["app"]["customRules"] == [{"source": "/a", "target": "/b"}]
        assert c.get_branch(appId=kept, branchName="main")["branch"]["stage"] == "BETA"
