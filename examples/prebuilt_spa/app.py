#!/usr/bin/env python3
"""A prebuilt single-page app (e.g. `npm run build` output in dist/) with client-side routing, security
headers, a redirect kept for an old address and optional basic auth, in one construct.

    cdk deploy                     # public
    cdk deploy -c basic_auth=true  # behind basic auth: user "admin", password generated in a secret

The rules apply in order, first match wins: the 301 comes before the single-page-app rewrite, which
would otherwise serve index.html at /old-settings too.

Locally, without an AWS account (from the repository root), with the same rules, headers and
password check (README, "See it as Amplify will serve it", says how to read the generated password):

    amplify-sandbox deploy examples/prebuilt_spa    # add -c basic_auth=true for basic auth
"""

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_secretsmanager as secretsmanager

from amplify_deployment import AmplifyStaticSite

app = cdk.App()
stack = cdk.Stack(app, "PrebuiltSpa")

basic_auth_secret = None
if str(app.node.try_get_context("basic_auth") or "").lower() in ("1", "true", "yes"):
    basic_auth_secret = secretsmanager.Secret(
        stack,
        "BasicAuth",
        description="Basic-auth password of the PrebuiltSpa site (user admin)",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"username": "admin"}),
            generate_string_key="password",
            exclude_punctuation=True,
            password_length=24,
        ),
    )
    cdk.Validations.of(basic_auth_secret).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions::AwsSolutions-SMG4",
            reason="A preview password, replaced by redeploying; nothing rotates it.",
        )
    )

site = AmplifyStaticSite(
    stack,
    "Spa",
    path=str(Path(__file__).parent / "dist"),
    single_page_app=True,
    custom_headers={
        "**/*": {
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
            "X-Content-Type-Options": "nosniff",
        }
    },
    basic_auth_secret=basic_auth_secret,
)
# An address the app used to have: a permanent redirect, placed before the single-page-app rewrite.
spa_rules = site.app.custom_rules if isinstance(site.app.custom_rules, list) else []
site.app.custom_rules = [
    amplify.CfnApp.CustomRuleProperty(source="/old-settings", target="/settings/profile", status="301"),
    *spa_rules,
]
app.synth()
