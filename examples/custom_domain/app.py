#!/usr/bin/env python3
"""A custom domain: ``example.com`` and ``www.example.com`` serve ``main``, ``next.example.com`` serves
the ``next`` preview branch, and the apex redirects to ``www`` (a custom rule whose source is a domain).

    npx cdk deploy                          # the domain with its three sub-domains
    npx cdk deploy -c next_domain=false     # removes next.example.com only (the branch stays)
    npx cdk deploy -c domain=mysite.org     # your own domain

On AWS, the stack completes while Amplify waits for the domain to be verified: its outputs show the
domain's status (``PENDING_VERIFICATION``) and the DNS record to add (the README, "Custom domains").

Locally, without an AWS account (from the repository root):

    amplify-sandbox deploy examples/custom_domain

prints a ``Site:`` line per branch and one per host, e.g. ``http://www.example.com.localhost:PORT/``:
Chromium and curl resolve ``*.localhost`` to 127.0.0.1, so the preview answers under the domain's own
host names, and the apex's redirect lands on the local ``www`` URL.
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyStaticSite

HERE = Path(__file__).parent

app = cdk.App()
stack = cdk.Stack(app, "CustomDomain")
domain = app.node.try_get_context("domain") or "example.com"
sub_domains = {"": "main", "www": "main"}
if str(app.node.try_get_context("next_domain") or "true").lower() != "false":
    sub_domains["next"] = "next"

site = AmplifyStaticSite(
    stack,
    "Site",
    path=str(HERE / "site"),
    app_name="custom-domain",
    custom_rules=[
        # The apex to www, path kept (Amplify appends it to a domain redirect's target).
        {"source": f"https://{domain}", "target": f"https://www.{domain}", "status": "301"},
    ],
)
site.add_branch("next", sources=[s3deploy.Source.asset(str(HERE / "site-next"))], stage="DEVELOPMENT")
site.add_domain(domain, sub_domains=sub_domains)
app.synth()
