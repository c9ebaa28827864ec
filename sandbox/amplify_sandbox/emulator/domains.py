"""Custom domains of an app (domain associations): their records and every rule the emulator applies
to them. No HTTP (domain_responses.py) and no lock: the backend calls these under its own.

A domain's status follows a sequence worked out lazily from the clock (as jobs do), each status held
for ``domain_step_seconds`` (knob):

- Amplify's managed certificate: ``CREATING``, ``REQUESTING_CERTIFICATE``, ``PENDING_VERIFICATION``,
  ``AWAITING_APP_CNAME``, ``PENDING_DEPLOYMENT``, ``AVAILABLE``;
- a custom certificate: ``CREATING``, ``IMPORTING_CUSTOM_CERTIFICATE``, ``AWAITING_APP_CNAME``,
  ``PENDING_DEPLOYMENT``, ``AVAILABLE``.

How verification ends is the knob ``domain_verification`` (sampled at create and at an update that
restarts the sequence): ``verified`` goes on to ``AVAILABLE``; ``pending`` stays at the first status
that waits on the user's DNS (``PENDING_VERIFICATION``, or ``AWAITING_APP_CNAME`` with a custom
certificate) for ever, as a third-party domain does until its CNAME resolves; ``failed`` ends there in
``FAILED`` with a ``statusReason``. docs/emulator.md's ledger ("Domains") gives each rule's source.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from .exceptions import BadRequestException, NotFoundException

DOMAIN_STATUSES = (
    "PENDING_VERIFICATION",
    "IN_PROGRESS",
    "AVAILABLE",
    "IMPORTING_CUSTOM_CERTIFICATE",
    "PENDING_DEPLOYMENT",
    "AWAITING_APP_CNAME",
    "FAILED",
    "CREATING",
    "REQUESTING_CERTIFICATE",
    "UPDATING",
)
VERIFICATION_ENDS = ("verified", "pending", "failed")
MANAGED_SEQUENCE = (
    "CREATING",
    "REQUESTING_CERTIFICATE",
    "PENDING_VERIFICATION",
    "AWAITING_APP_CNAME",
    "PENDING_DEPLOYMENT",
    "AVAILABLE",
)
CUSTOM_SEQUENCE = (
    "CREATING",
    "IMPORTING_CUSTOM_CERTIFICATE",
    "AWAITING_APP_CNAME",
    "PENDING_DEPLOYMENT",
    "AVAILABLE",
)
#: an update of an available domain: its sub-domains (and certificate) are deployed again
UPDATE_SEQUENCE = ("UPDATING", "PENDING_DEPLOYMENT", "AVAILABLE")
#: statuses during which UpdateDomainAssociation is refused (emulator rule: an operation in flight)
BUSY = ("CREATING", "REQUESTING_CERTIFICATE", "IMPORTING_CUSTOM_CERTIFICATE", "UPDATING", "IN_PROGRESS")
#: the model's patterns and bounds
DOMAIN_NAME_RE = re.compile(
    r"^(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])(\.)?$"
)
DOMAIN_NAME_MAX = 64
CERTIFICATE_ARN_RE = re.compile(r"^arn:aws:acm:([a-z0-9-]+):\d{12}:certificate/.+$")
IAM_ROLE_RE = re.compile(r"^$|^arn:aws:iam::\d{12}:role.+")
SUB_DOMAINS_MAX = 500
PREFIX_MAX = 255
#: where a custom certificate must be (CloudFormation reference, CertificateSettings)
CERTIFICATE_REGION = "us-east-1"


@dataclass
class DomainAssociation:
    app_id: str
    domain_name: str
    region: str
    account: str
    #: [{"prefix": ..., "branchName": ...}] in the order given
    sub_domains: list[dict[str, str]]
    enable_auto_sub_domain: bool = False
    auto_sub_domain_creation_patterns: list[str] = field(default_factory=list)
    auto_sub_domain_iam_role: str = ""
    certificate_type: str = "AMPLIFY_MANAGED"
    custom_certificate_arn: str = ""
    #: the CloudFront distribution the sub-domains' CNAMEs point at (made up: dNNN.cloudfront.net)
    distribution: str = ""
    #: the ACM validation record of the managed certificate
    verification_record: str = ""
    #: the sequence in progress, when it began, how long each status lasts and how verification ends
    sequence: list[str] = field(default_factory=list)
    started: float = 0.0
    step_seconds: float = 0.0
    verification: str = "verified"
    #: whether an update has run since the create (updateStatus is shown from then on)
    updating: bool = False
    #: the sub-domains were verified when the update now running began
    verified_before: bool = False
    create_time: float = 0.0

    @property
    def arn(self) -> str:
        return f"arn:aws:amplify:{self.region}:{self.account}:apps/{self.app_id}/domains/{self.domain_name}"

    def _position(self, now: float) -> tuple[int, bool]:
        """(index in the sequence, stopped there by the verification knob)."""
        steps = self._steps(now)
        wait = self.wait_index()
        if wait is not None and self.verification != "verified" and steps >= wait:
            return wait, True
        return min(steps, len(self.sequence) - 1), False

    def _steps(self, now: float) -> int:
        """Whole steps since the sequence began (a hair of tolerance for float clocks)."""
        if self.step_seconds <= 0:
            return len(self.sequence) + 1
        return int((now - self.started) / self.step_seconds + 1e-3)

    def wait_index(self) -> int | None:
        """Where the sequence waits on the user's DNS (None: it does not: an update)."""
        for status in ("PENDING_VERIFICATION", "AWAITING_APP_CNAME"):
            if status in self.sequence:
                return self.sequence.index(status)
        return None

    def status(self, now: float) -> str:
        index, stopped = self._position(now)
        if stopped and self.verification == "failed" and self._steps(now) > index:
            return "FAILED"
        return self.sequence[index]

    def status_reason(self, now: float) -> str:
        status = self.status(now)
        if status == "FAILED":
            return (
                f"Verification of {self.domain_name} failed: the DNS records were not found "
                "(injected: knob domain_verification=failed)."
            )
        if status == "PENDING_VERIFICATION":
            return (
                f"Waiting for the verification record of {self.domain_name}: add {self.verification_record}"
            )
        if status == "AWAITING_APP_CNAME":
            return f"Waiting for the CNAME records of the sub-domains of {self.domain_name} to resolve."
        return ""

    def update_status(self, now: float) -> str | None:
        if not self.updating:
            return None
        status = self.status(now)
        if status == "AVAILABLE":
            return "UPDATE_COMPLETE"
        if status == "FAILED":
            return "UPDATE_FAILED"
        return "PENDING_DEPLOYMENT"

    def verified(self, now: float) -> bool:
        """Whether the sub-domains are verified: the sequence is past the DNS wait, or they were
        verified before the update now running (their DNS records do not change)."""
        return self.verified_before or self.status(now) in ("PENDING_DEPLOYMENT", "AVAILABLE")

    def host_of(self, prefix: str) -> str:
        return f"{prefix}.{self.domain_name}" if prefix else self.domain_name

    def dns_record(self, prefix: str) -> str:
        """The record the user adds for a sub-domain: ``www CNAME dNNN.cloudfront.net`` (apex: `` CNAME``)."""
        return f"{prefix} CNAME {self.distribution}.cloudfront.net"


# ---------------------------------------------------------------------- validation
def check_domain_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise BadRequestException("domainName is required.")
    if len(name) > DOMAIN_NAME_MAX or not DOMAIN_NAME_RE.match(name):
        raise BadRequestException(
            f"Invalid domainName {name[:80]!r}: at most {DOMAIN_NAME_MAX} characters of dot-separated labels "
            "(letters, digits, '-')."
        )
    return name


def sub_domain_settings(value: Any, branches: dict[str, Any], app_id: str) -> list[dict[str, str]]:
    """subDomainSettings, checked: a list of {prefix, branchName} (at most 500), each branch of the app,
    no prefix twice."""
    if not isinstance(value, list):
        raise BadRequestException("subDomainSettings must be a list of {prefix, branchName}.")
    if len(value) > SUB_DOMAINS_MAX:
        raise BadRequestException(f"subDomainSettings: at most {SUB_DOMAINS_MAX} sub-domains.")
    settings: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise BadRequestException(f"subDomainSettings[{i}] must be an object.")
        prefix, branch = item.get("prefix"), item.get("branchName")
        if not isinstance(prefix, str) or len(prefix) > PREFIX_MAX:
            raise BadRequestException(
                f"subDomainSettings[{i}].prefix must be a string of at most {PREFIX_MAX}."
            )
        if not isinstance(branch, str) or not 1 <= len(branch) <= 255:
            raise BadRequestException(f"subDomainSettings[{i}].branchName must be 1..255 characters.")
        if prefix.lower() in seen:
            raise BadRequestException(f"subDomainSettings: the prefix {prefix!r} is given twice.")
        if branch not in branches:
            raise NotFoundException(f"Branch {branch} not found for app {app_id} (subDomainSettings[{i}]).")
        seen.add(prefix.lower())
        settings.append({"prefix": prefix, "branchName": branch})
    return settings


def certificate_settings(value: Any) -> tuple[str, str]:
    """certificateSettings -> (type, custom ARN). CUSTOM needs an ACM ARN of us-east-1."""
    if value is None:
        return "AMPLIFY_MANAGED", ""
    if not isinstance(value, dict) or value.get("type") not in ("AMPLIFY_MANAGED", "CUSTOM"):
        raise BadRequestException("certificateSettings.type must be AMPLIFY_MANAGED or CUSTOM.")
    arn = value.get("customCertificateArn") or ""
    if not isinstance(arn, str):
        raise BadRequestException("certificateSettings.customCertificateArn must be a string.")
    if value["type"] == "AMPLIFY_MANAGED":
        if arn:
            raise BadRequestException("certificateSettings: customCertificateArn is only for type CUSTOM.")
        return "AMPLIFY_MANAGED", ""
    m = CERTIFICATE_ARN_RE.match(arn)
    if m is None:
        raise BadRequestException(
            f"certificateSettings.customCertificateArn {arn[:120]!r}: CUSTOM needs an ACM certificate ARN."
        )
    if m.group(1) != CERTIFICATE_REGION:
        raise BadRequestException(
            f"The custom certificate {arn[:120]} is in {m.group(1)}: it must be in {CERTIFICATE_REGION}."
        )
    return "CUSTOM", arn


def auto_settings(body: dict[str, Any]) -> dict[str, Any]:
    """enableAutoSubDomain, autoSubDomainCreationPatterns, autoSubDomainIAMRole, when given."""
    out: dict[str, Any] = {}
    if body.get("enableAutoSubDomain") is not None:
        if not isinstance(body["enableAutoSubDomain"], bool):
            raise BadRequestException("enableAutoSubDomain must be a boolean.")
        out["enable_auto_sub_domain"] = body["enableAutoSubDomain"]
    patterns = body.get("autoSubDomainCreationPatterns")
    if patterns is not None:
        if not isinstance(patterns, list) or not all(
            isinstance(p, str) and 1 <= len(p) <= 2048 for p in patterns
        ):
            raise BadRequestException(
                "autoSubDomainCreationPatterns must be a list of 1..2048-character strings."
            )
        out["auto_sub_domain_creation_patterns"] = list(patterns)
    role = body.get("autoSubDomainIAMRole")
    if role is not None:
        if not isinstance(role, str) or len(role) > 1000 or not IAM_ROLE_RE.match(role):
            raise BadRequestException("autoSubDomainIAMRole must be an IAM role ARN.")
        out["auto_sub_domain_iam_role"] = role
    return out


# ---------------------------------------------------------------------- making and changing
def new_association(
    app_id: str,
    region: str,
    account: str,
    name: str,
    settings: list[dict[str, str]],
    certificate: tuple[str, str],
    now: float,
    step_seconds: float,
    verification: str,
) -> DomainAssociation:
    digest = hashlib.sha256(f"{app_id}/{name}".encode()).hexdigest()
    domain = DomainAssociation(
        app_id=app_id,
        domain_name=name,
        region=region,
        account=account,
        sub_domains=settings,
        certificate_type=certificate[0],
        custom_certificate_arn=certificate[1],
        distribution="d" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(13)),
        verification_record=(
            f"_{digest[:32]}.{name}. CNAME _{digest[32:64]}.{secrets.token_hex(5)}.acm-validations.aws."
        ),
        create_time=now,
    )
    restart(
        domain,
        list(CUSTOM_SEQUENCE if certificate[0] == "CUSTOM" else MANAGED_SEQUENCE),
        now,
        step_seconds,
        verification,
    )
    return domain


def restart(
    domain: DomainAssociation, sequence: list[str], now: float, step_seconds: float, verification: str
) -> None:
    domain.sequence = sequence
    domain.started = now
    domain.step_seconds = step_seconds
    domain.verification = verification


def update(
    domain: DomainAssociation,
    settings: list[dict[str, str]] | None,
    certificate: tuple[str, str] | None,
    auto: dict[str, Any],
    now: float,
    step_seconds: float,
    verification: str,
) -> None:
    """UpdateDomainAssociation: the members given replace the old ones. An available domain deploys
    again (UPDATING, PENDING_DEPLOYMENT, AVAILABLE; a new certificate goes through its request or
    import and verification first); one still waiting for its DNS keeps waiting with the new settings."""
    status = domain.status(now)
    if status in BUSY:
        raise BadRequestException(
            f"Domain {domain.domain_name} of app {domain.app_id} is {status}: wait until it is done."
        )
    new_certificate = certificate is not None and certificate != (
        domain.certificate_type,
        domain.custom_certificate_arn,
    )
    if settings is not None:
        domain.sub_domains = settings
    if certificate is not None:
        domain.certificate_type, domain.custom_certificate_arn = certificate
    for attr, value in auto.items():
        setattr(domain, attr, value)
    domain.verified_before = status == "AVAILABLE" or (domain.verified_before and status != "FAILED")
    if status in ("AVAILABLE", "FAILED") or new_certificate:
        if new_certificate:
            first = (
                ["UPDATING", "IMPORTING_CUSTOM_CERTIFICATE"]
                if domain.certificate_type == "CUSTOM"
                else [
                    "UPDATING",
                    "REQUESTING_CERTIFICATE",
                    "PENDING_VERIFICATION",
                ]
            )
            sequence = [*first, "PENDING_DEPLOYMENT", "AVAILABLE"]
        else:
            sequence = list(UPDATE_SEQUENCE)
        restart(domain, sequence, now, step_seconds, verification if new_certificate else "verified")
        domain.updating = True


# ---------------------------------------------------------------------- serialising
def association_json(domain: DomainAssociation, now: float) -> dict[str, Any]:
    verified = domain.verified(now)
    managed = domain.certificate_type == "AMPLIFY_MANAGED"
    certificate: dict[str, Any] = {"type": domain.certificate_type}
    if domain.custom_certificate_arn:
        certificate["customCertificateArn"] = domain.custom_certificate_arn
    if managed:
        certificate["certificateVerificationDNSRecord"] = domain.verification_record
    data: dict[str, Any] = {
        "domainAssociationArn": domain.arn,
        "domainName": domain.domain_name,
        "enableAutoSubDomain": domain.enable_auto_sub_domain,
        "domainStatus": domain.status(now),
        "statusReason": domain.status_reason(now),
        "subDomains": [
            {"subDomainSetting": dict(s), "verified": verified, "dnsRecord": domain.dns_record(s["prefix"])}
            for s in domain.sub_domains
        ],
        "certificate": certificate,
    }
    if managed:
        data["certificateVerificationDNSRecord"] = domain.verification_record
    if domain.auto_sub_domain_creation_patterns:
        data["autoSubDomainCreationPatterns"] = list(domain.auto_sub_domain_creation_patterns)
    if domain.auto_sub_domain_iam_role:
        data["autoSubDomainIAMRole"] = domain.auto_sub_domain_iam_role
    update_status = domain.update_status(now)
    if update_status:
        data["updateStatus"] = update_status
    return data


def encode_page_token(index: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"next": index}).encode()).decode()


def decode_page_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["next"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadRequestException("Invalid nextToken.") from exc


def domain_from_dict(data: dict[str, Any]) -> DomainAssociation:
    return DomainAssociation(**data)
