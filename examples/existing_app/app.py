#!/usr/bin/env python3
"""Deploy into an Amplify app and branch that already exist (created in the console or another stack).

    npx cdk deploy -c appId=d1a2b3c4d5e6f7 -c branch=main

Locally, without an AWS account (from the repository root): create-app makes the app (no
repository) and its branch in the sandbox, as the console would, and prints the app id to pass on:

    amplify-sandbox create-app examples/existing_app --branch main
    amplify-sandbox deploy examples/existing_app -c appId=<the printed id> -c branch=main
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment

app = cdk.App()
stack = cdk.Stack(app, "ExistingAppDeployment")
site = AmplifyDeployment(
    stack,
    "Site",
    # Literal ids are checked at synth; the app must have no Git repository connected.
    app=app.node.try_get_context("appId") or "d1a2b3c4d5e6f7",
    branch=app.node.try_get_context("branch") or "main",
    sources=[s3deploy.Source.asset(str(Path(__file__).parent / "site"))],
)
cdk.CfnOutput(stack, "BranchUrl", value=site.branch_url)
app.synth()
