"""The emulator's routes, error codes, HTTP statuses and response shapes against botocore's model."""

from __future__ import annotations

from typing import Any

import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel, Shape

from amplify_sandbox.emulator import exceptions
from amplify_sandbox.emulator.exceptions import MODELED_ERRORS
from amplify_sandbox.emulator.responses import not_emulated
from amplify_sandbox.emulator.urls import ROUTES

from ._helpers import Emu, make_zip, put

MODEL = ServiceModel(botocore.loaders.Loader().load_service_model("amplify", "service-2"), "amplify")
EMULATED = {op for op, route in ROUTES.items() if route.function is not not_emulated}


def assert_required(shape: Shape, value: Any, where: str) -> None:
    """Every required member of every structure is present, recursively."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        for name in shape.required_members:
            assert name in value, f"{where}: required member {name} missing"
        for name, member in shape.members.items():
            if name in value:
                assert_required(member, value[name], f"{where}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            assert_required(shape.member, item, f"{where}[{i}]")
    elif shape.type_name == "map":
        for k, v in value.items():
            assert_required(shape.value, v, f"{where}[{k}]")


def test_routes_match_the_model() -> None:
    assert set(ROUTES) == set(MODEL.operation_names)  # every operation: emulated or declared not
    assert {"ListApps", "ListBranches", "TagResource", "UntagResource", "ListTagsForResource"} <= EMULATED
    for op, route in ROUTES.items():
        http = MODEL.operation_model(op).http
        assert (http["method"], http["requestUri"]) == (route.method, route.uri), op


def test_exception_codes_and_statuses_match_the_model() -> None:
    model_errors = {s.name for op in MODEL.operation_names for s in MODEL.operation_model(op).error_shapes}
    assert set(exceptions.ERRORS_BY_CODE) == model_errors  # every error shape has its class
    for cls in exceptions.ERRORS_BY_CODE.values():
        shape = MODEL.shape_for(cls.code)
        assert shape.metadata["error"]["httpStatusCode"] == cls.status, cls.code
    assert set(MODELED_ERRORS) == EMULATED
    for op, codes in MODELED_ERRORS.items():
        assert codes == tuple(s.name for s in MODEL.operation_model(op).error_shapes), op
    shape = MODEL.shape_for("ResourceNotFoundException")
    assert shape.metadata["error"]["httpStatusCode"] == exceptions.ResourceNotFoundException.status


def test_every_response_parses_with_its_required_members(emu: Emu) -> None:
    """Drive every operation with boto3 and check the parsed output against the output shape."""
    seen: dict[str, dict[str, Any]] = {}
    c = emu.client

    def record(op: str, resp: dict[str, Any]) -> dict[str, Any]:
        seen[op] = resp
        return resp

    app = record("CreateApp", c.create_app(name="shapes"))["app"]
    record("GetApp", c.get_app(appId=app["appId"]))
    record("ListApps", c.list_apps())
    branch = record("CreateBranch", c.create_branch(appId=app["appId"], branchName="a/b"))["branch"]
    record("GetBranch", c.get_branch(appId=app["appId"], branchName="a/b"))
    record("ListBranches", c.list_branches(appId=app["appId"]))
    record("TagResource", c.tag_resource(resourceArn=branch["branchArn"], tags={"team": "web"}))
    record("ListTagsForResource", c.list_tags_for_resource(resourceArn=branch["branchArn"]))
    record("UntagResource", c.untag_resource(resourceArn=branch["branchArn"], tagKeys=["team"]))
    dep = record("CreateDeployment", c.create_deployment(appId=app["appId"], branchName="a/b"))
    assert put(dep["zipUploadUrl"], make_zip({"index.html": "x"}))[0] == 200
    record("StartDeployment", c.start_deployment(appId=app["appId"], branchName="a/b", jobId=dep["jobId"]))
    record("GetJob", c.get_job(appId=app["appId"], branchName="a/b", jobId=dep["jobId"]))
    emu.finish_jobs()
    record("ListJobs", c.list_jobs(appId=app["appId"], branchName="a/b"))
    c.create_deployment(appId=app["appId"], branchName="a/b", fileMap={"index.html": "0" * 32})
    record("StopJob", c.stop_job(appId=app["appId"], branchName="a/b", jobId="2"))
    record(
        "UpdateApp",
        c.update_app(
            appId=app["appId"],
            description="d",
            customRules=[{"source": "/a", "target": "/b", "status": "301"}],
            customHeaders="customHeaders: []",
            basicAuthCredentials="dTpw",
        ),
    )
    record("UpdateBranch", c.update_branch(appId=app["appId"], branchName="a/b", stage="BETA"))
    subs = [{"prefix": "", "branchName": "a/b"}]
    domain = {"appId": app["appId"], "domainName": "example.com"}
    record("CreateDomainAssociation", c.create_domain_association(**domain, subDomainSettings=subs))
    record("GetDomainAssociation", c.get_domain_association(**domain))
    record("ListDomainAssociations", c.list_domain_associations(appId=app["appId"]))
    emu.clock.advance(60)
    subs.append({"prefix": "www", "branchName": "a/b"})
    record("UpdateDomainAssociation", c.update_domain_association(**domain, subDomainSettings=subs))
    record("DeleteDomainAssociation", c.delete_domain_association(**domain))
    record("DeleteBranch", c.delete_branch(appId=app["appId"], branchName="a/b"))
    record("DeleteApp", c.delete_app(appId=app["appId"]))
    assert set(seen) == EMULATED
    for op, resp in seen.items():
        assert_required(MODEL.operation_model(op).output_shape, resp, op)


def _error(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_errors_are_declared_by_their_operation_with_the_model_status(emu: Emu) -> None:
    c = emu.client
    app_id, branch = emu.app_branch()
    repo_app = c.create_app(name="git", repository="https://github.com/o/r")["app"]["appId"]
    c.create_branch(appId=repo_app, branchName="main")
    c.create_deployment(appId=app_id, branchName=branch)  # job 1, never started: blocks the branch
    cases = {
        "GetApp": _error(c.get_app, appId="dmissing"),
        "CreateBranch": _error(c.create_branch, appId="dmissing", branchName="x"),
        "GetBranch": _error(c.get_branch, appId=app_id, branchName="nope"),
        "CreateDeployment": _error(c.create_deployment, appId=app_id, branchName=branch),
        "CreateDeployment-missing-branch": _error(c.create_deployment, appId=app_id, branchName="nope"),
        "CreateDeployment-repo": _error(c.create_deployment, appId=repo_app, branchName="main"),
        "StartDeployment": _error(c.start_deployment, appId=app_id, branchName=branch, jobId="99"),
        "GetJob": _error(c.get_job, appId=app_id, branchName=branch, jobId="99"),
        "ListJobs": _error(c.list_jobs, appId=app_id, branchName="nope"),
        "StopJob": _error(c.stop_job, appId=app_id, branchName=branch, jobId="99"),
        "UpdateApp": _error(c.update_app, appId="dmissing", name="x"),
        "UpdateApp-git": _error(c.update_app, appId=app_id, repository="https://github.com/o/r"),
        "UpdateApp-platform": _error(c.update_app, appId=app_id, platform="NOPE"),
        "DeleteApp": _error(c.delete_app, appId="dmissing"),
        "UpdateBranch": _error(c.update_branch, appId=app_id, branchName="nope", description="x"),
        "UpdateBranch-stage": _error(c.update_branch, appId=app_id, branchName=branch, stage="NOPE"),
        "DeleteBranch": _error(c.delete_branch, appId=app_id, branchName="nope"),
        "DeleteBranch-missing-app": _error(c.delete_branch, appId="dmissing", branchName=branch),
    }
    assert cases["GetApp"] == ("NotFoundException", 404)
    assert cases["CreateDeployment"] == ("BadRequestException", 400)
    # CreateDeployment and ListJobs declare no NotFoundException: a missing branch is a bad request
    assert cases["CreateDeployment-missing-branch"] == ("BadRequestException", 400)
    assert cases["ListJobs"] == ("BadRequestException", 400)
    for name in ("UpdateApp", "DeleteApp", "UpdateBranch", "DeleteBranch", "DeleteBranch-missing-app"):
        assert cases[name] == ("NotFoundException", 404), name
    for name in ("UpdateApp-git", "UpdateApp-platform", "UpdateBranch-stage"):
        assert cases[name] == ("BadRequestException", 400), name
    for name, (code, status) in cases.items():
        op = name.split("-")[0]
        assert code in MODELED_ERRORS[op], name
        assert MODEL.shape_for(code).metadata["error"]["httpStatusCode"] == status, name
