"""AWS::Amplify::Domain through the local driver and the emulator: created once Amplify has accepted
it (PENDING_VERIFICATION shown), a removed sub-domain removed by UpdateDomainAssociation with nothing
else touched, a failed verification failing the resource, destroy deleting it."""

import copy
import json

import pytest
from botocore.exceptions import ClientError

from amplify_sandbox.driver import LocalStack

from .test_prebuilt import _app, _deploy

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f6e1c1e-1111-2222-3333-444455556666"


def _template(prefixes=("", "www", "next"), certificate=None):
    branch_of = {"": "Main", "www": "Main", "next": "Next"}
    domain = {
        "Type": "AWS::Amplify::Domain",
        "Properties": {
            "AppId": {"Fn::GetAtt": ["App", "AppId"]},
            "DomainName": "example.com",
            "SubDomainSettings": [
                {"Prefix": p, "BranchName": {"Fn::GetAtt": [branch_of[p], "BranchName"]}} for p in prefixes
            ],
        },
    }
    if certificate:
        domain["Properties"]["CertificateSettings"] = {
            "CertificateType": "CUSTOM",
            "CustomCertificateArn": certificate,
        }
    return {
        "Resources": {
            "App": {"Type": "AWS::Amplify::App", "Properties": {"Name": "domains"}},
            "Main": {
                "Type": "AWS::Amplify::Branch",
                "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}, "BranchName": "main"},
            },
            "Next": {
                "Type": "AWS::Amplify::Branch",
                "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}, "BranchName": "next"},
            },
            "Domain": domain,
        },
        "Outputs": {
            "Status": {"Value": {"Fn::GetAtt": ["Domain", "DomainStatus"]}},
            "Record": {"Value": {"Fn::GetAtt": ["Domain", "CertificateRecord"]}},
            "Arn": {"Value": {"Ref": "Domain"}},
            "Name": {"Value": {"Fn::GetAtt": ["Domain", "DomainName"]}},
        },
    }


def _write(app, template):
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(template))


def _state(app):
    return json.loads((app / ".amplify-sandbox" / "stacks" / "Pre.json").read_text())


def test_domain_created_updated_in_place_and_destroyed(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    lines: list[str] = []
    first = _deploy(app, sandbox, lines)
    assert first.ok, first.stacks[0].reason
    amplify = sandbox.client("amplify")
    app_id = first.branches[0][0]
    domain = amplify.get_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
    assert [s["subDomainSetting"] for s in domain["subDomains"]] == [
        {"prefix": "", "branchName": "main"},
        {"prefix": "www", "branchName": "main"},
        {"prefix": "next", "branchName": "next"},
    ]
    # CloudFormation's create completes once Amplify waits on the user's DNS: the status it read then
    assert first.outputs["Status"] == "PENDING_VERIFICATION"
    assert first.outputs["Record"] == domain["certificateVerificationDNSRecord"]
    assert first.outputs["Arn"] == domain["domainAssociationArn"] and first.outputs["Name"] == "example.com"
    assert any("Domain" in line and "CREATE_COMPLETE" in line for line in lines)
    before = copy.deepcopy(_state(app)["resources"])

    _write(app, _template(prefixes=("", "www")))
    second = _deploy(app, sandbox)
    assert second.ok, second.stacks[0].reason
    counters = sandbox.emulator.counters["requests"]
    assert counters.get("UpdateDomainAssociation") == 1 and counters.get("CreateDomainAssociation") == 1
    domain = amplify.get_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
    assert [s["subDomainSetting"]["prefix"] for s in domain["subDomains"]] == ["", "www"]
    assert amplify.get_branch(appId=app_id, branchName="next")["branch"]["branchName"] == "next"
    after = _state(app)["resources"]
    assert after["Domain"]["physical_id"] == before["Domain"]["physical_id"]  # in place, not replaced
    assert {k: after[k] for k in ("App", "Main", "Next")} == {k: before[k] for k in ("App", "Main", "Next")}

    # the next branch and its sub-domain removed together: the mapping and the branch both go
    without_next = _template(prefixes=("", "www"))
    del without_next["Resources"]["Next"]
    _write(app, without_next)
    lines = []
    third = _deploy(app, sandbox, lines)
    assert third.ok, third.stacks[0].reason
    assert any("Next (AWS::Amplify::Branch) DELETE_COMPLETE" in line for line in lines)
    assert third.branches == [(app_id, "main")]
    with pytest.raises(ClientError) as gone_branch:
        amplify.get_branch(appId=app_id, branchName="next")
    assert gone_branch.value.response["Error"]["Code"] == "NotFoundException"

    assert LocalStack(app, sandbox, log=lambda _l: None).destroy().ok
    assert sandbox.emulator.counters["requests"].get("DeleteDomainAssociation") == 1
    with pytest.raises(ClientError) as gone:
        amplify.get_app(appId=app_id)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"


def test_a_custom_certificate_completes_awaiting_the_cname_and_a_later_failure_leaves_the_stack(
    tmp_path, sandbox
):
    sandbox.emulator.set_knobs(domain_verification="failed")
    app = _app(tmp_path, _template(certificate=CERT))
    result = _deploy(app, sandbox)
    assert result.ok, result.stacks[0].reason
    assert result.outputs["Status"] == "AWAITING_APP_CNAME" and result.outputs["Record"] == ""
    app_id = result.branches[0][0]
    sandbox.emulator.set_knobs(clock_offset=60)
    got = sandbox.client("amplify").get_domain_association(appId=app_id, domainName="example.com")
    assert got["domainAssociation"]["domainStatus"] == "FAILED"  # seen on Amplify, not by the stack


def test_a_domain_failed_by_the_time_its_create_is_read_fails_the_resource(tmp_path, sandbox):
    sandbox.emulator.set_knobs(domain_verification="failed", domain_step_seconds=0)
    app = _app(tmp_path, _template())
    result = _deploy(app, sandbox)
    assert not result.ok
    reason = result.stacks[0].reason
    assert "domain example.com FAILED: Verification of example.com failed" in reason, reason
    assert result.stacks[0].status == "ROLLBACK_COMPLETE"
    assert sandbox.emulator.counters["requests"].get("DeleteApp") == 1  # the rollback removed it all
