"""Custom domains in the emulator (CreateDomainAssociation, Get, List, Update, Delete) through real
boto3: the status sequence on the fake clock, the verification knob, the records, the errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from amplify_sandbox import AmplifyEmulator

from ._helpers import Emu, amplify_client

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f6e1c1e-1111-2222-3333-444455556666"


def statuses(emu: Emu, app_id: str, name: str, steps: int) -> list[str]:
    """domainStatus after each step of the fake clock (one knob step each)."""
    seen = []
    for _ in range(steps):
        seen.append(
            emu.client.get_domain_association(appId=app_id, domainName=name)["domainAssociation"][
                "domainStatus"
            ]
        )
        emu.clock.advance(emu.emulator.knobs.domain_step_seconds)
    return seen


def create(emu: Emu, app_id: str, subs: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    settings = [{"prefix": p, "branchName": b} for p, b in subs.items()]
    return emu.client.create_domain_association(
        appId=app_id, domainName="example.com", subDomainSettings=settings, **kwargs
    )["domainAssociation"]


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_managed_certificate_goes_through_the_sequence_to_available(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    emu.client.create_branch(appId=app_id, branchName="next")
    created = create(emu, app_id, {"": "main", "www": "main", "next": "next"})
    assert created["domainStatus"] == "CREATING"
    assert created["domainAssociationArn"].endswith(f":apps/{app_id}/domains/example.com")
    assert created["certificate"]["type"] == "AMPLIFY_MANAGED"
    record = created["certificate"]["certificateVerificationDNSRecord"]
    assert record == created["certificateVerificationDNSRecord"]
    assert (
        record.startswith("_")
        and ".example.com. CNAME _" in record
        and record.endswith(".acm-validations.aws.")
    )
    assert [s["verified"] for s in created["subDomains"]] == [False, False, False]
    assert [s["subDomainSetting"] for s in created["subDomains"]] == [
        {"prefix": "", "branchName": "main"},
        {"prefix": "www", "branchName": "main"},
        {"prefix": "next", "branchName": "next"},
    ]
    dns = {s["subDomainSetting"]["prefix"]: s["dnsRecord"] for s in created["subDomains"]}
    assert dns["www"].startswith("www CNAME d") and dns["www"].endswith(".cloudfront.net")
    assert dns[""].startswith(" CNAME d")
    assert statuses(emu, app_id, "example.com", 7) == [
        "CREATING",
        "REQUESTING_CERTIFICATE",
        "PENDING_VERIFICATION",
        "AWAITING_APP_CNAME",
        "PENDING_DEPLOYMENT",
        "AVAILABLE",
        "AVAILABLE",
    ]
    done = emu.client.get_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
    assert all(s["verified"] for s in done["subDomains"]) and done["statusReason"] == ""
    assert "updateStatus" not in done


def test_custom_certificate_is_imported_not_requested(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    created = create(
        emu, app_id, {"": "main"}, certificateSettings={"type": "CUSTOM", "customCertificateArn": CERT}
    )
    assert created["certificate"] == {"type": "CUSTOM", "customCertificateArn": CERT}
    assert "certificateVerificationDNSRecord" not in created
    assert statuses(emu, app_id, "example.com", 5) == [
        "CREATING",
        "IMPORTING_CUSTOM_CERTIFICATE",
        "AWAITING_APP_CNAME",
        "PENDING_DEPLOYMENT",
        "AVAILABLE",
    ]


@pytest.mark.parametrize(("end", "final"), [("pending", "PENDING_VERIFICATION"), ("failed", "FAILED")])
def test_verification_knob_stays_pending_or_fails(emu: Emu, end: str, final: str) -> None:
    emu.emulator.set_knobs(domain_verification=end)
    app_id, _ = emu.app_branch("main")
    create(emu, app_id, {"www": "main"})
    seen = statuses(emu, app_id, "example.com", 6)
    assert seen[:3] == ["CREATING", "REQUESTING_CERTIFICATE", "PENDING_VERIFICATION"]
    assert seen[-1] == final and "AVAILABLE" not in seen
    emu.clock.advance(86400)
    got = emu.client.get_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
    assert got["domainStatus"] == final
    assert not got["subDomains"][0]["verified"]
    if end == "failed":
        assert "knob domain_verification=failed" in got["statusReason"]
    else:
        assert got["statusReason"].startswith("Waiting for the verification record of example.com: add _")


def test_update_of_an_available_domain_redeploys_and_reports_update_status(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    emu.client.create_branch(appId=app_id, branchName="next")
    create(emu, app_id, {"": "main", "next": "next"})
    emu.clock.advance(60)
    updated = emu.client.update_domain_association(
        appId=app_id, domainName="example.com", subDomainSettings=[{"prefix": "", "branchName": "main"}]
    )["domainAssociation"]
    assert [s["subDomainSetting"]["prefix"] for s in updated["subDomains"]] == [""]
    assert (updated["domainStatus"], updated["updateStatus"]) == ("UPDATING", "PENDING_DEPLOYMENT")
    assert updated["subDomains"][0]["verified"]  # its DNS records stand while it redeploys
    assert statuses(emu, app_id, "example.com", 3) == ["UPDATING", "PENDING_DEPLOYMENT", "AVAILABLE"]
    got = emu.client.get_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
    assert got["updateStatus"] == "UPDATE_COMPLETE"


def test_update_while_creating_is_refused_and_list_pages(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    create(emu, app_id, {"": "main"})
    code, message = error(
        emu.client.update_domain_association, appId=app_id, domainName="example.com", enableAutoSubDomain=True
    )
    assert code == "BadRequestException" and "is CREATING" in message
    for name in ("example.org", "example.net"):
        emu.client.create_domain_association(
            appId=app_id, domainName=name, subDomainSettings=[{"prefix": "www", "branchName": "main"}]
        )
    first = emu.client.list_domain_associations(appId=app_id, maxResults=2)
    assert [d["domainName"] for d in first["domainAssociations"]] == ["example.com", "example.org"]
    rest = emu.client.list_domain_associations(appId=app_id, maxResults=2, nextToken=first["nextToken"])
    assert [d["domainName"] for d in rest["domainAssociations"]] == [
        "example.net"
    ] and "nextToken" not in rest
    paginated = emu.client.get_paginator("list_domain_associations").paginate(
        appId=app_id, PaginationConfig={"PageSize": 1}
    )
    assert [d["domainName"] for page in paginated for d in page["domainAssociations"]] == [
        "example.com",
        "example.org",
        "example.net",
    ]


def test_errors(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    c = emu.client
    subs = [{"prefix": "", "branchName": "main"}]
    assert error(c.create_domain_association, appId=app_id, domainName="example", subDomainSettings=subs)[
        0
    ] == ("BadRequestException")
    code, message = error(
        c.create_domain_association,
        appId=app_id,
        domainName="example.com",
        subDomainSettings=[{"prefix": "", "branchName": "nope"}],
    )
    assert (code, message) == (
        "NotFoundException",
        f"Branch nope not found for app {app_id} (subDomainSettings[0]).",
    )
    code, message = error(
        c.create_domain_association,
        appId=app_id,
        domainName="example.com",
        subDomainSettings=[*subs, {"prefix": "", "branchName": "main"}],
    )
    assert code == "BadRequestException" and "given twice" in message
    code, message = error(
        c.create_domain_association,
        appId=app_id,
        domainName="example.com",
        subDomainSettings=subs,
        certificateSettings={
            "type": "CUSTOM",
            "customCertificateArn": CERT.replace("us-east-1", "eu-west-1"),
        },
    )
    assert code == "BadRequestException" and "must be in us-east-1" in message
    assert error(c.get_domain_association, appId=app_id, domainName="example.com")[0] == "NotFoundException"
    assert (
        error(c.delete_domain_association, appId=app_id, domainName="example.com")[0] == "NotFoundException"
    )
    c.create_domain_association(appId=app_id, domainName="example.com", subDomainSettings=subs)
    code, message = error(
        c.create_domain_association, appId=app_id, domainName="example.com", subDomainSettings=subs
    )
    assert code == "BadRequestException" and f"already associated with app {app_id}" in message
    deleted = c.delete_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
    assert deleted["domainName"] == "example.com"
    assert c.list_domain_associations(appId=app_id)["domainAssociations"] == []


def test_domains_persist_with_the_state_dir_and_go_with_their_app(tmp_path: Any) -> None:
    subs = [{"prefix": "www", "branchName": "main"}]
    with AmplifyEmulator(state_dir=tmp_path) as first:
        c = amplify_client(first.endpoint)
        app_id = c.create_app(name="site")["app"]["appId"]
        c.create_branch(appId=app_id, branchName="main")
        c.create_domain_association(appId=app_id, domainName="example.com", subDomainSettings=subs)
    with AmplifyEmulator(state_dir=tmp_path) as second:
        c = amplify_client(second.endpoint)
        got = c.get_domain_association(appId=app_id, domainName="example.com")["domainAssociation"]
        assert got["subDomains"][0]["subDomainSetting"] == {"prefix": "www", "branchName": "main"}
        c.delete_app(appId=app_id)
        other = c.create_app(name="other")["app"]["appId"]
        c.create_branch(appId=other, branchName="main")
        # the name is free again once its app is gone
        c.create_domain_association(appId=other, domainName="example.com", subDomainSettings=subs)
