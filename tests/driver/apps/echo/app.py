#!/usr/bin/env python3
"""A small CDK app that exercises the local stack driver (not the AmplifyDeployment construct).

An Amplify app + branch, and a custom resource served by a tiny Python echo handler that uses crhelper
(copied into its code asset, as a real function must bundle it). settings.json steers what changes
between runs: the tests edit it in a temporary copy of this folder.
"""

import json
import shutil
import tempfile
from pathlib import Path

import aws_cdk as cdk
import crhelper
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_lambda as lambda_

HERE = Path(__file__).resolve().parent
settings = json.loads((HERE / "settings.json").read_text())

# The code asset: the handler, plus crhelper copied in (the Lambda runtime has only boto3).
code_dir = Path(tempfile.mkdtemp(prefix="echo-code-"))
shutil.copy(HERE / "handler" / "index.py", code_dir / "index.py")
if settings["bundle_crhelper"]:
    shutil.copytree(
        Path(crhelper.__file__).parent, code_dir / "crhelper", ignore=shutil.ignore_patterns("__pycache__")
    )

app = cdk.App()
stack = cdk.Stack(app, "DriverEchoStack")
amp = amplify.CfnApp(stack, "App", name="driver-echo")
branch = amplify.CfnBranch(stack, "Branch", app_id=amp.attr_app_id, branch_name=settings["branch_name"])
fn = lambda_.Function(
    stack,
    "EchoFn",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_asset(str(code_dir)),
    timeout=cdk.Duration.seconds(settings["timeout"]),
    memory_size=settings["memory"],
    environment={
        "ECHO_VAR": "from-the-template",
        "ECHO_APP": amp.attr_app_id,
        "ECHO_LOG_LEVEL": settings.get("log_level", "INFO"),
    },
)
fn.configure_async_invoke(retry_attempts=settings["retries"])
echo = cdk.CustomResource(
    stack,
    "Echo",
    service_token=fn.function_arn,
    resource_type="Custom::Echo",
    properties={
        "Message": settings["message"],
        "Fail": settings["fail"],
        "AppId": amp.attr_app_id,
        "BranchName": branch.attr_branch_name,
        "Domain": amp.attr_default_domain,
        "Number": 42,
        "Nested": {"Flag": True, "List": [1, "two", False]},
        "Region": cdk.Fn.sub("${AWS::Region}-${AWS::AccountId}"),
        "Joined": cdk.Fn.join("/", [stack.stack_name, cdk.Aws.PARTITION, cdk.Aws.URL_SUFFIX]),
        "Picked": cdk.Fn.select(1, ["a", "b", "c"]),
        **settings["extra"],
    },
)
echo.node.add_dependency(branch)
shutil.rmtree(code_dir)

cdk.CfnOutput(stack, "EchoMessage", value=echo.get_att_string("Message"))
cdk.CfnOutput(stack, "EchoRequestType", value=echo.get_att_string("RequestType"))
cdk.CfnOutput(stack, "EchoPhysicalId", value=echo.ref)
cdk.CfnOutput(stack, "AppId", value=amp.attr_app_id)
app.synth()
