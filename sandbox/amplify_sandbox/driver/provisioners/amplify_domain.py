"""AWS::Amplify::Domain: a custom domain of an app, created, updated and deleted in the emulator.

Create: CreateDomainAssociation, then GetDomainAssociation until the domain leaves the statuses of
Amplify's own work (CREATING, REQUESTING_CERTIFICATE, IMPORTING_CUSTOM_CERTIFICATE, IN_PROGRESS,
UPDATING): the create completes at PENDING_VERIFICATION, AWAITING_APP_CNAME, PENDING_DEPLOYMENT or
AVAILABLE, so a stack whose domain waits for the user's DNS records completes (its outputs show the
records to add), and FAILED fails the resource with Amplify's statusReason. That is what Terraform's
provider waits for (hashicorp/terraform-provider-aws PR 36961) and what users report of CloudFormation
stacks finishing with the domain PENDING_VERIFICATION; CloudFormation's own handler was not read
(docs/emulator.md, ledger D10: assumed). Update: AppId or DomainName changed is a replacement (the new
domain first, the old one deleted after the update; as the CloudFormation reference says); any other
change is UpdateDomainAssociation with every property (a removed one reset to its default), waited for
in the same way. Delete: DeleteDomainAssociation (already gone counts as deleted).

Ref and ``Arn``: the association's ARN; ``Fn::GetAtt`` ``DomainName``, ``DomainStatus``,
``StatusReason``, ``UpdateStatus``, ``CertificateRecord`` (the verification record),
``EnableAutoSubDomain``, ``AutoSubDomainCreationPatterns``, ``AutoSubDomainIAMRole`` and
``Certificate.CertificateType`` / ``Certificate.CertificateArn`` /
``Certificate.CertificateVerificationDNSRecord``, read when the create (or update) completes.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import ResourceFailed
from amplify_sandbox.driver.provisioners.amplify import Props, _AmplifyProvisioner
from amplify_sandbox.driver.state import ResourceState
from amplify_sandbox.driver.template import AMPLIFY_DOMAIN

#: the statuses of Amplify's own work: the driver waits while the domain shows one
IN_FLIGHT = ("CREATING", "REQUESTING_CERTIFICATE", "IMPORTING_CUSTOM_CERTIFICATE", "IN_PROGRESS", "UPDATING")
#: how long (real seconds) the driver waits for a domain to leave IN_FLIGHT
WAIT_SECONDS = 60.0
_REPLACEMENT = ("AppId", "DomainName")


def domain_params(props: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateDomainAssociation / UpdateDomainAssociation parameters from the template's properties;
    with ``previous`` (an update), a removed property is reset to its default."""
    params: dict[str, Any] = {}
    if previous is not None:
        for cfn, (api, default) in {
            "EnableAutoSubDomain": ("enableAutoSubDomain", False),
            "AutoSubDomainCreationPatterns": ("autoSubDomainCreationPatterns", []),
            "AutoSubDomainIAMRole": ("autoSubDomainIAMRole", ""),
            "CertificateSettings": ("certificateSettings", {"type": "AMPLIFY_MANAGED"}),
        }.items():
            if cfn in previous and cfn not in props:
                params[api] = default
    settings = props.get("SubDomainSettings")
    if isinstance(settings, list):
        params["subDomainSettings"] = [
            {"prefix": str(s.get("Prefix", "")), "branchName": str(s.get("BranchName", ""))}
            for s in settings
            if isinstance(s, dict)
        ]
    if "EnableAutoSubDomain" in props:
        value = props["EnableAutoSubDomain"]
        params["enableAutoSubDomain"] = value is True or str(value).lower() == "true"
    if "AutoSubDomainCreationPatterns" in props:
        params["autoSubDomainCreationPatterns"] = list(props["AutoSubDomainCreationPatterns"])
    if "AutoSubDomainIAMRole" in props:
        params["autoSubDomainIAMRole"] = props["AutoSubDomainIAMRole"]
    cert = props.get("CertificateSettings")
    if isinstance(cert, dict):
        params["certificateSettings"] = {"type": cert.get("CertificateType", "AMPLIFY_MANAGED")}
        if cert.get("CustomCertificateArn"):
            params["certificateSettings"]["customCertificateArn"] = cert["CustomCertificateArn"]
    return params


def domain_attributes(domain: dict[str, Any]) -> dict[str, Any]:
    """The resource's Fn::GetAtt attributes from a DomainAssociation."""
    certificate = domain.get("certificate") or {}
    return {
        "Arn": domain["domainAssociationArn"],
        "DomainName": domain["domainName"],
        "DomainStatus": domain["domainStatus"],
        "StatusReason": domain.get("statusReason", ""),
        "UpdateStatus": domain.get("updateStatus", ""),
        "CertificateRecord": domain.get("certificateVerificationDNSRecord", ""),
        "EnableAutoSubDomain": bool(domain.get("enableAutoSubDomain")),
        "AutoSubDomainCreationPatterns": list(domain.get("autoSubDomainCreationPatterns") or []),
        "AutoSubDomainIAMRole": domain.get("autoSubDomainIAMRole", ""),
        "Certificate.CertificateType": certificate.get("type", ""),
        "Certificate.CertificateArn": certificate.get("customCertificateArn", ""),
        "Certificate.CertificateVerificationDNSRecord": certificate.get(
            "certificateVerificationDNSRecord", ""
        ),
    }


class AmplifyDomainProvisioner(_AmplifyProvisioner):
    types: ClassVar[frozenset[str]] = frozenset({AMPLIFY_DOMAIN})
    get_operation = "get_domain_association"
    update_operation = "update_domain_association"
    delete_operation = "delete_domain_association"

    def __init__(self) -> None:
        #: physical id -> the attributes read when its last update completed
        self._fresh: dict[str, dict[str, Any]] = {}

    def _create_call(self, run: StackRun, lid: str, props: Props, params: Props) -> ResourceState:
        client = run.ctx.client("amplify")
        params.pop("tags", None)  # AWS::Amplify::Domain has no Tags
        created = client.create_domain_association(
            appId=props.get("AppId"), domainName=props.get("DomainName"), **params
        )["domainAssociation"]
        domain = self._wait(run, lid, "CREATE_FAILED", props, created)
        arn = domain["domainAssociationArn"]
        return ResourceState(
            type=AMPLIFY_DOMAIN, physical_id=arn, ref=arn, attributes=domain_attributes(domain)
        )

    def _wait(
        self, run: StackRun, lid: str, failed: str, props: Props, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """GetDomainAssociation until the domain leaves IN_FLIGHT; FAILED fails the resource."""
        client = run.ctx.client("amplify")
        deadline = time.monotonic() + WAIT_SECONDS
        while domain["domainStatus"] in IN_FLIGHT:
            if time.monotonic() > deadline:
                reason = (
                    f"domain {domain['domainName']} still {domain['domainStatus']} after {WAIT_SECONDS:.0f}s "
                    "(the sandbox's knob domain_step_seconds may be too long)"
                )
                run.event(lid, AMPLIFY_DOMAIN, failed, reason)
                raise ResourceFailed(lid, reason)
            time.sleep(0.02)
            domain = client.get_domain_association(appId=props.get("AppId"), domainName=domain["domainName"])[
                "domainAssociation"
            ]
        if domain["domainStatus"] == "FAILED":
            reason = (
                f"domain {domain['domainName']} FAILED: {domain.get('statusReason') or 'no reason given'}"
            )
            run.event(lid, AMPLIFY_DOMAIN, failed, reason)
            raise ResourceFailed(lid, reason)
        return domain

    def _key(self, res: ResourceState) -> dict[str, Any]:
        # AppId and DomainName are the same in the template (else the domain is replaced)
        return {"appId": res.properties["AppId"], "domainName": res.properties["DomainName"]}

    def _params(self, props: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        return domain_params(props, current)

    def _replaced_by(self, old_res: ResourceState, props: dict[str, Any]) -> bool:
        return any(old_res.properties.get(p) != props.get(p) for p in _REPLACEMENT)

    def _update(
        self,
        run: StackRun,
        lid: str,
        rtype: str,
        props: dict[str, Any],
        current: dict[str, Any],
        old_res: ResourceState,
    ) -> None:
        super()._update(run, lid, rtype, props, current, old_res)
        key = self._key(old_res)
        domain = run.ctx.client("amplify").get_domain_association(**key)["domainAssociation"]
        domain = self._wait(run, lid, "UPDATE_FAILED", {"AppId": key["appId"]}, domain)
        self._fresh[old_res.physical_id] = domain_attributes(domain)

    def _updated_attributes(self, old_res: ResourceState, props: dict[str, Any]) -> dict[str, Any]:
        return self._fresh.pop(old_res.physical_id, None) or dict(old_res.attributes)
