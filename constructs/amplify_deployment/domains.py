"""Custom domains of an Amplify app (``AWS::Amplify::Domain``): the values checked at synth time.

Sources: the API model (``DomainName``: at most 64 characters and its pattern; ``SubDomainSettings``:
at most 500; ``CertificateArn``: ``^arn:aws:acm:[a-z0-9-]+:\\d{12}:certificate/.+$``), the
CloudFormation reference of ``AWS::Amplify::Domain`` (a custom certificate must be requested or
imported in us-east-1), and DNS itself (a prefix is one or more labels of letters, digits and ``-``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm

DOMAIN_NAME_MAX = 64
SUB_DOMAINS_MAX = 500
#: the API model's DomainName pattern
_DOMAIN_NAME = re.compile(
    r"^(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])(\.)?$"
)
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws:acm:([a-z0-9-]+):\d{12}:certificate/.+$")
#: the Region a custom certificate of Amplify Hosting (a CloudFront distribution) must be in
CERTIFICATE_REGION = "us-east-1"

Certificate = Union[str, acm.ICertificate]  # noqa: UP007 (jsii interfaces in a runtime alias)


@dataclass(frozen=True)
class SiteDomain:
    """A custom domain of an ``AmplifyStaticSite`` (``domain=`` or ``add_domain``).

    ``sub_domains``: ``{prefix: branch name}``, ``""`` being the apex. Default: the apex and ``www``
    on the site's first branch. ``certificate``: an ACM certificate (ARN or ``ICertificate``, in
    us-east-1); default Amplify's managed certificate. ``auto_sub_domain``: Amplify makes a sub-domain
    for every branch (``auto_sub_domain_patterns``, default every branch).
    """

    name: str
    sub_domains: Mapping[str, str] | None = None
    certificate: Certificate | None = None
    auto_sub_domain: bool = False
    auto_sub_domain_patterns: tuple[str, ...] = field(default=())


def domain_name_problem(name: object) -> str | None:
    """Why ``name`` is not a domain name Amplify accepts, or None."""
    if not isinstance(name, str):
        return f"a domain name is a string, got {name!r}"
    if len(name) > DOMAIN_NAME_MAX:
        return f"a domain name is at most {DOMAIN_NAME_MAX} characters ({len(name)} given)"
    if not _DOMAIN_NAME.match(name):
        return "a domain name is dot-separated labels of letters, digits and '-' (e.g. example.com)"
    return None


def prefix_problem(prefix: object) -> str | None:
    """Why ``prefix`` is not a sub-domain prefix (``""``: the apex; ``www``; ``a.b``), or None."""
    if not isinstance(prefix, str):
        return f"a prefix is a string, got {prefix!r}"
    if prefix == "":
        return None
    if not all(_LABEL.match(label) for label in prefix.split(".")):
        return "a prefix is '' (the apex) or DNS labels of letters, digits and '-' (e.g. www, next)"
    return None


def host_of(prefix: str, domain: str) -> str:
    """The host a sub-domain serves: ``www`` + ``example.com`` -> ``www.example.com``; ``""`` the apex."""
    domain = domain.rstrip(".").lower()
    return f"{prefix.lower()}.{domain}" if prefix else domain


def certificate_arn(certificate: Certificate) -> str:
    """The ARN of a custom certificate, checked where it is a literal (pattern, us-east-1)."""
    if isinstance(certificate, str):
        arn = certificate
    elif hasattr(certificate, "certificate_arn"):
        region = certificate.env.region
        if not cdk.Token.is_unresolved(region) and region != CERTIFICATE_REGION:
            raise ValueError(
                f"AmplifyStaticSite: the custom certificate is in {region}; Amplify Hosting takes "
                f"certificates from {CERTIFICATE_REGION} only (request or import it there)."
            )
        arn = certificate.certificate_arn
    else:
        raise TypeError(
            "AmplifyStaticSite: certificate must be an ACM certificate ARN or ICertificate, "
            f"got {certificate!r}"
        )
    if cdk.Token.is_unresolved(arn):
        return arn
    m = _CERTIFICATE_ARN.match(arn)
    if m is None:
        raise ValueError(
            f"AmplifyStaticSite: {arn[:120]!r} is not an ACM certificate ARN "
            "(arn:aws:acm:us-east-1:<account>:certificate/<id>)."
        )
    if m.group(1) != CERTIFICATE_REGION:
        raise ValueError(
            f"AmplifyStaticSite: the custom certificate {arn[:120]} is in {m.group(1)}; Amplify Hosting "
            f"takes certificates from {CERTIFICATE_REGION} only (request or import it there)."
        )
    return arn
