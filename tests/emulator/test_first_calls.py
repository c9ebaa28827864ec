"""The calls a new user tries first (``aws amplify list-apps``), apps kept per Region, tags, and the
operations the emulator does not emulate: all through real boto3 (and raw HTTP) on loopback."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from amplify_sandbox.emulator.responses import not_emulated
from amplify_sandbox.emulator.urls import ROUTES

from ._helpers import Emu, amplify_client


def client_in(emu: Emu, region: str) -> Any:
    return amplify_client(emu.emulator.endpoint, region)


def test_list_apps_pages_with_next_token_and_max_results(emu: Emu) -> None:
    made = []
    for i in range(5):
        made.append(emu.client.create_app(name=f"app{i}")["app"]["appId"])
        emu.clock.advance(1)
    first = emu.client.list_apps(maxResults=2)
    assert [a["appId"] for a in first["apps"]] == made[:2]  # oldest first
    second = emu.client.list_apps(maxResults=2, nextToken=first["nextToken"])
    assert [a["appId"] for a in second["apps"]] == made[2:4]
    emu.client.delete_app(appId=made[4])  # the next page's first app is gone: the page still works
    last = emu.client.list_apps(maxResults=2, nextToken=second["nextToken"])
    assert last["apps"] == [] and "nextToken" not in last
    pages = emu.client.get_paginator("list_apps").paginate(PaginationConfig={"PageSize": 3})
    assert [a["appId"] for page in pages for a in page["apps"]] == made[:4]
    assert emu.client.list_apps()["apps"][0]["defaultDomain"] == f"{made[0]}.amplifyapp.com"
    with pytest.raises(emu.client.exceptions.BadRequestException, match="maxResults"):
        emu.client.list_apps(maxResults=101)
    with pytest.raises(emu.client.exceptions.BadRequestException, match="nextToken"):
        emu.client.list_apps(nextToken="not-a-token")


def test_list_branches_pages_and_declares_no_not_found(emu: Emu) -> None:
    app_id = emu.client.create_app(name="branches")["app"]["appId"]
    names = ["main", "feature/login", "dev"]
    for name in names:
        emu.client.create_branch(appId=app_id, branchName=name)
        emu.clock.advance(1)
    pages = emu.client.get_paginator("list_branches").paginate(appId=app_id, PaginationConfig={"PageSize": 2})
    listed = [page["branches"] for page in pages]
    assert [len(p) for p in listed] == [2, 1]
    assert [b["branchName"] for p in listed for b in p] == names
    assert listed[0][1]["branchArn"].endswith(f"apps/{app_id}/branches/feature%2Flogin")
    with pytest.raises(emu.client.exceptions.BadRequestException, match="maxResults"):
        emu.client.list_branches(appId=app_id, maxResults=51)
    # ListBranches declares no NotFoundException: an unknown app is a bad request (ledger E2)
    with pytest.raises(emu.client.exceptions.BadRequestException, match="dmissing"):
        emu.client.list_branches(appId="dmissing")


def test_apps_are_kept_per_region(emu: Emu) -> None:
    """Ledger A8: an app made by a client signed for eu-west-1 is not found from us-east-1."""
    app_id, branch = emu.app_branch()  # emu.client signs for eu-west-1
    us = client_in(emu, "us-east-1")
    with pytest.raises(us.exceptions.NotFoundException, match=app_id):
        us.get_app(appId=app_id)
    with pytest.raises(us.exceptions.NotFoundException):
        us.get_branch(appId=app_id, branchName=branch)
    with pytest.raises(us.exceptions.BadRequestException):  # CreateDeployment declares no NotFound
        us.create_deployment(appId=app_id, branchName=branch)
    with pytest.raises(us.exceptions.NotFoundException):
        us.delete_app(appId=app_id)
    assert us.list_apps()["apps"] == []
    mine = us.create_app(name="us")["app"]
    assert mine["appArn"].startswith("arn:aws:amplify:us-east-1:")
    assert [a["appId"] for a in us.list_apps()["apps"]] == [mine["appId"]]
    assert [a["appId"] for a in emu.client.list_apps()["apps"]] == [app_id]
    assert emu.client.get_app(appId=app_id)["app"]["appArn"].startswith("arn:aws:amplify:eu-west-1:")
    # the ARN names the Region: tagging an app of another Region does not find it
    with pytest.raises(us.exceptions.ResourceNotFoundException):
        us.list_tags_for_resource(resourceArn=emu.client.get_app(appId=app_id)["app"]["appArn"])


def test_tags_of_apps_and_branches(emu: Emu) -> None:
    c = emu.client
    app = c.create_app(name="tagged", tags={"stack": "site"})["app"]
    branch = c.create_branch(appId=app["appId"], branchName="a/b", tags={"stage": "dev"})["branch"]
    assert c.list_tags_for_resource(resourceArn=app["appArn"])["tags"] == {"stack": "site"}
    assert c.list_tags_for_resource(resourceArn=branch["branchArn"])["tags"] == {"stage": "dev"}
    c.tag_resource(resourceArn=app["appArn"], tags={"stack": "site2", "owner": "web"})
    assert c.list_tags_for_resource(resourceArn=app["appArn"])["tags"] == {"stack": "site2", "owner": "web"}
    assert c.get_app(appId=app["appId"])["app"]["tags"] == {"stack": "site2", "owner": "web"}
    c.untag_resource(resourceArn=app["appArn"], tagKeys=["stack", "never-set"])
    assert c.list_tags_for_resource(resourceArn=app["appArn"])["tags"] == {"owner": "web"}
    c.tag_resource(resourceArn=branch["branchArn"], tags={"cost-center": "42"})
    assert c.get_branch(appId=app["appId"], branchName="a/b")["branch"]["tags"] == {
        "stage": "dev",
        "cost-center": "42",
    }
    missing = app["appArn"].replace(app["appId"], "dmissing")
    with pytest.raises(c.exceptions.ResourceNotFoundException) as info:
        c.list_tags_for_resource(resourceArn=missing)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.tag_resource(resourceArn=app["appArn"] + "/branches/nope", tags={"a": "b"})
    with pytest.raises(c.exceptions.BadRequestException, match="aws:"):
        c.tag_resource(resourceArn=app["appArn"], tags={"aws:reserved": "x"})
    with pytest.raises(c.exceptions.BadRequestException, match="at most 50"):
        c.tag_resource(resourceArn=app["appArn"], tags={f"k{i}": "v" for i in range(50)})


def raw(emu: Emu, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", emu.emulator.port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(data or b"{}")


NOT_EMULATED = sorted(op for op, route in ROUTES.items() if route.function is not_emulated)


@pytest.mark.parametrize("operation", NOT_EMULATED)
def test_an_operation_not_emulated_answers_a_declared_error_that_says_so(emu: Emu, operation: str) -> None:
    route = ROUTES[operation]
    path = route.uri
    for name in ("appId", "branchName", "jobId", "environmentName", "webhookId", "artifactId", "domainName"):
        path = path.replace("{" + name + "}", "d1" if name == "appId" else "x1")
    status, headers, body = raw(emu, route.method, path, b"{}")
    assert (status, headers["x-amzn-errortype"]) == (400, "BadRequestException")
    assert headers["x-amzn-requestid"]
    assert body["message"].startswith(f"{operation} is not emulated by the Amplify sandbox")


def test_webhooks_through_boto3_are_a_bad_request_naming_the_operation(emu: Emu) -> None:
    app_id, _ = emu.app_branch()
    with pytest.raises(emu.client.exceptions.BadRequestException, match="ListWebhooks is not emulated"):
        emu.client.list_webhooks(appId=app_id)


def test_a_request_that_is_no_operation_has_a_request_id(emu: Emu) -> None:
    status, headers, body = raw(emu, "GET", "/nothing/here")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert headers["x-amzn-requestid"] and "GET /nothing/here" in body["message"]


def test_list_apps_is_counted_and_throttled_like_any_operation(emu: Emu) -> None:
    emu.emulator.knobs.throttle_next_api_calls = 1
    with pytest.raises(ClientError) as info:
        emu.client.list_apps()
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    emu.client.list_apps()
    assert emu.emulator.counters["requests"]["ListApps"] == 2
