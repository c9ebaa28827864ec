#!/usr/bin/env python3
"""One branch whose page carries a deploy-time value: the CloudFormation parameter ``Version``
(default ``v1``) in a ``Source.data`` page. A test updates the stack by deploying the same cloud
assembly with another value of the parameter (what ``cdk deploy --parameters Version=v2`` does), so
one synth serves a create and any number of updates.

The handler's ``AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT`` (the age past which a never-started job on the
branch is taken as abandoned; the construct sets it to the function's timeout) is overridden to 1 s,
so a test can leave an abandoned job on the branch without waiting a minute for it to age. The
function's own timeout stays at the construct's minimum, 60 s."""

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment

ABANDONED_AFTER_SECONDS = 1

app = cdk.App()
stack = cdk.Stack(app, "VersionedSite")
version = cdk.CfnParameter(stack, "Version", type="String", default="v1")
amplify_app = amplify.CfnApp(stack, "App", name="versioned-site")
branch = amplify.CfnBranch(stack, "Main", app_id=amplify_app.attr_app_id, branch_name="main")
AmplifyDeployment(
    stack,
    "Site",
    app=amplify_app,
    branch=branch,
    sources=[s3deploy.Source.data("index.html", f"<h1>{version.value_as_string}</h1>\n")],
    timeout=cdk.Duration.seconds(60),
)
functions = [c for c in stack.node.find_all() if isinstance(c, lambda_.CfnFunction)]
assert len(functions) == 1, functions
functions[0].add_property_override(
    "Environment.Variables.AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT", str(ABANDONED_AFTER_SECONDS)
)
app.synth()
