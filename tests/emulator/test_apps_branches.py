"""CreateApp, GetApp, CreateBranch, GetBranch through real boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ._helpers import Emu


def test_create_and_get_app(emu: Emu) -> None:
    app = emu.client.create_app(name="my-site", description="d", tags={"k": "v"})["app"]
    assert app["appId"].startswith("d") and len(app["appId"]) <= 20
    assert app["appArn"] == f"arn:aws:amplify:eu-west-1:123456789012:apps/{app['appId']}"
    assert app["defaultDomain"] == f"{app['appId']}.amplifyapp.com"
    got = emu.client.get_app(appId=app["appId"])["app"]
    assert (got["name"], got["description"], got["tags"]) == ("my-site", "d", {"k": "v"})


def test_get_missing_or_malformed_app(emu: Emu) -> None:
    with pytest.raises(emu.client.exceptions.NotFoundException):
        emu.client.get_app(appId="dabc123")
    with pytest.raises(emu.client.exceptions.BadRequestException):
        emu.client.get_app(appId="NOT-AN-ID")


def test_create_and_get_branch_with_a_slash(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    branch = emu.client.create_branch(appId=app_id, branchName="feature/new-ui", stage="DEVELOPMENT")[
        "branch"
    ]
    assert branch["branchName"] == "feature/new-ui"
    assert branch["displayName"] == "feature-new-ui"
    got = emu.client.get_branch(appId=app_id, branchName="feature/new-ui")["branch"]
    assert (got["stage"], got["totalNumberOfJobs"], got["activeJobId"]) == ("DEVELOPMENT", "0", "")
    assert emu.client.get_branch(appId=app_id, branchName="main")["branch"]["branchName"] == "main"


def test_branch_errors(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    with pytest.raises(emu.client.exceptions.BadRequestException, match="already exists"):
        emu.client.create_branch(appId=app_id, branchName="main")
    with pytest.raises(emu.client.exceptions.NotFoundException):
        emu.client.get_branch(appId=app_id, branchName="other")
    with pytest.raises(emu.client.exceptions.NotFoundException):
        emu.client.create_branch(appId="dnothere", branchName="main")
    with pytest.raises(ClientError) as info:
        emu.client.create_branch(appId=app_id, branchName="x" * 256)
    assert info.value.response["Error"]["Code"] in ("BadRequestException", "ParamValidationError")


def test_branch_quota_per_app(emu: Emu) -> None:
    app_id = emu.client.create_app(name="many")["app"]["appId"]
    for i in range(50):
        emu.client.create_branch(appId=app_id, branchName=f"b{i}")
    with pytest.raises(emu.client.exceptions.LimitExceededException):
        emu.client.create_branch(appId=app_id, branchName="b50")
