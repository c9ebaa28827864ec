"""cdk-nag's AwsSolutions pack finds nothing unacknowledged on this construct's resources."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3deploy
from cdk_nag import AwsSolutionsChecks

from amplify_deployment import AmplifyDeployment, UploadMode

REPO = Path(__file__).resolve().parents[2]


def nag_report(tmp_path: Path, build) -> dict:
    app = cdk.App(outdir=str(tmp_path))
    build(app)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises when a violation is not acknowledged
    return json.loads((tmp_path / "validation-report.json").read_text())


def test_example_stack_passes_aws_solutions(tmp_path):
    spec = importlib.util.spec_from_file_location("example_app", REPO / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = nag_report(tmp_path, lambda app: module.ExampleSiteStack(app, "Example"))
    (plugin,) = report["pluginReports"]
    assert plugin["conclusion"] == "success" and plugin["violations"] == []
    # The one acknowledged finding is the jobs/* wildcard, with its reason.
    suppressed = plugin["suppressedViolations"]
    assert [v["ruleName"].split("[")[0] for v in suppressed] == ["AwsSolutions-IAM5"]
    assert suppressed[0]["ruleName"].endswith("/branches/main/jobs/*]")
    assert "job ids are known only after CreateDeployment" in suppressed[0]["reason"]


def test_literal_ids_and_several_deployments_pass(tmp_path):
    def build(app):
        stack = cdk.Stack(app, "Literal", env=cdk.Environment(account="123456789012", region="eu-west-1"))
        for branch in ("main", "feature/x"):
            AmplifyDeployment(
                stack,
                branch,
                app="d1a2b3c4",
                branch=branch,
                sources=[s3deploy.Source.data("index.html", branch)],
                upload_mode=UploadMode.FILES,
            )

    report = nag_report(tmp_path, build)
    (plugin,) = report["pluginReports"]
    assert plugin["conclusion"] == "success"
    assert sorted(v["ruleName"] for v in plugin["suppressedViolations"]) == [
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:amplify:eu-west-1:123456789012:apps/d1a2b3c4/branches/feature/x/jobs/*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:amplify:eu-west-1:123456789012:apps/d1a2b3c4/branches/main/jobs/*]",
    ]


def test_handler_in_a_vpc_with_its_own_log_group_passes(tmp_path):
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_logs as logs

    def build(app):
        stack = cdk.Stack(app, "InVpc", env=cdk.Environment(account="123456789012", region="eu-west-1"))
        vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
        vpc.add_flow_log("FlowLog")  # AwsSolutions-VPC7 is about the user's VPC, not this construct
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        AmplifyDeployment(
            stack,
            "Site",
            app="d1a2b3c4",
            branch="main",
            sources=[s3deploy.Source.data("index.html", "hi")],
            vpc=vpc,
            log_group=logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.ONE_YEAR),
            exclude=["*.map"],
            destination_key_prefix="docs",
        )

    report = nag_report(tmp_path, build)
    (plugin,) = report["pluginReports"]
    assert plugin["conclusion"] == "success" and plugin["violations"] == []
    suppressed = sorted(v["ruleName"] for v in plugin["suppressedViolations"])
    assert suppressed == [
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:amplify:eu-west-1:123456789012:apps/d1a2b3c4/branches/main/jobs/*]",
    ]
