#!/usr/bin/env python3
"""A one-branch site whose handler function has a 12-second timeout (the construct allows 60 s at
least; the test overrides the synthesized Timeout and AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT together, as
the construct sets them) so a stall near the function's timeout can be tested quickly."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment

TIMEOUT_SECONDS = 12
HERE = Path(__file__).resolve().parent

app = cdk.App()
stack = cdk.Stack(app, "ShortTimeout")
amplify_app = amplify.CfnApp(stack, "App", name="short-timeout")
branch = amplify.CfnBranch(stack, "Main", app_id=amplify_app.attr_app_id, branch_name="main")
AmplifyDeployment(
    stack, "Site", app=amplify_app, branch=branch, sources=[s3deploy.Source.asset(str(HERE / "site"))]
)
functions = [c for c in stack.node.find_all() if isinstance(c, lambda_.CfnFunction)]
assert len(functions) == 1, functions
functions[0].add_property_override("Timeout", TIMEOUT_SECONDS)
functions[0].add_property_override(
    "Environment.Variables.AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT", str(TIMEOUT_SECONDS)
)
app.synth()
