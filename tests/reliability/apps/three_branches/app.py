#!/usr/bin/env python3
"""One stack, three branches of one Amplify app, one AmplifyDeployment each (no dependency between
the three deployments): the local driver runs them at once, as CloudFormation would."""

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment

BRANCHES = ("one", "two", "three")

app = cdk.App()
stack = cdk.Stack(app, "ThreeBranches")
amplify_app = amplify.CfnApp(stack, "App", name="three-branches")
for name in BRANCHES:
    branch = amplify.CfnBranch(
        stack, f"Branch{name.title()}", app_id=amplify_app.attr_app_id, branch_name=name
    )
    AmplifyDeployment(
        stack,
        f"Site{name.title()}",
        app=amplify_app,
        branch=branch,
        sources=[s3deploy.Source.data("index.html", f"<h1>branch {name}</h1>\n")],
    )
app.synth()
