#!/usr/bin/env python3
"""The site composed with other resources (issue 15's "done when"): a DynamoDB table, an SSM
parameter, a Lambda function and an SQS queue, whose values config.json carries (Source.json_data
with tokens). Locally, the table, parameter and queue are made in the sandbox's moto."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm

from amplify_deployment import AmplifyDeployment

app = cdk.App()
stack = cdk.Stack(app, "MixedResources")
table = dynamodb.Table(
    stack,
    "Table",
    partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
)
parameter = ssm.StringParameter(stack, "ApiUrl", string_value="https://api.example.com/v2")
queue = sqs.Queue(stack, "Jobs")
function = lambda_.Function(
    stack,
    "Api",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_inline("def handler(event, context):\n    return {'ok': True}\n"),
    environment={"TABLE": table.table_name, "QUEUE_URL": queue.queue_url},
)
amplify_app = amplify.CfnApp(stack, "App", name="mixed-resources")
branch = amplify.CfnBranch(stack, "Main", app_id=amplify_app.attr_app_id, branch_name="main")
AmplifyDeployment(
    stack,
    "Site",
    app=amplify_app,
    branch=branch,
    sources=[
        s3deploy.Source.asset(str(Path(__file__).parent / "site")),
        s3deploy.Source.json_data(
            "config.json",
            {
                "tableName": table.table_name,
                "tableArn": table.table_arn,
                "apiUrl": parameter.string_value,
                "apiUrlParameter": parameter.parameter_name,
                "queueUrl": queue.queue_url,
                "queueArn": queue.queue_arn,
                "functionName": function.function_name,
                "functionArn": function.function_arn,
                "region": stack.region,
            },
        ),
    ],
)
app.synth()
