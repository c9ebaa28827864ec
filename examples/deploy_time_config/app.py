#!/usr/bin/env python3
"""Deploy-time configuration from other stack resources: config.json carries a table's name and a
parameter's value, resolved when the stack deploys (Source.json_data with tokens).

    npx cdk deploy

Locally, without an AWS account (from the repository root; the table is made in the sandbox's moto
with its real name, the parameter with its value):

    amplify-sandbox deploy examples/deploy_time_config
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_ssm as ssm

from amplify_deployment import AmplifyDeployment

app = cdk.App()
stack = cdk.Stack(app, "DeployTimeConfig")
table = dynamodb.TableV2(
    stack,
    "Table",
    partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
        point_in_time_recovery_enabled=True
    ),
)
api_url = ssm.StringParameter(stack, "ApiUrl", string_value="https://api.example.com/v1")
amplify_app = amplify.CfnApp(stack, "App", name="deploy-time-config")
branch = amplify.CfnBranch(stack, "Main", app_id=amplify_app.attr_app_id, branch_name="main")
site = AmplifyDeployment(
    stack,
    "Site",
    app=amplify_app,
    branch=branch,
    sources=[
        s3deploy.Source.asset(str(Path(__file__).parent / "site")),
        s3deploy.Source.json_data(
            "config.json",
            {"tableName": table.table_name, "apiUrl": api_url.string_value, "region": stack.region},
        ),
    ],
)
cdk.CfnOutput(stack, "BranchUrl", value=site.branch_url)
app.synth()
