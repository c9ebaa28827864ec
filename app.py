#!/usr/bin/env python3
"""The example app: a static site on AWS Amplify Hosting, deployed with the stack."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from amplify_deployment import AmplifyDeployment

SITE_DIR = Path(__file__).resolve().parent / "site"


class ExampleSiteStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, site_dir: Path = SITE_DIR, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        # An Amplify app with no repository: it accepts manual deployments.
        app = amplify.CfnApp(self, "App", name="amplify-deployment-example")
        branch = amplify.CfnBranch(
            self, "Main", app_id=app.attr_app_id, branch_name="main", stage="PRODUCTION"
        )

        site = AmplifyDeployment(
            self,
            "Site",
            app=app,
            branch=branch,
            sources=[
                s3deploy.Source.asset(str(site_dir)),
                # Written at deploy time from stack values: tokens resolve in the handler.
                s3deploy.Source.json_data(
                    "config.json",
                    {
                        "appId": app.attr_app_id,
                        "branch": branch.branch_name,
                        "region": self.region,
                        "stackName": self.stack_name,
                    },
                ),
            ],
        )

        cdk.CfnOutput(self, "BranchUrl", value=site.branch_url, description="Where the site is served")
        cdk.CfnOutput(
            self, "JobId", value=site.job_id, description="The Amplify job of the latest deployment"
        )


if __name__ == "__main__":
    app = cdk.App()
    ExampleSiteStack(app, "AmplifyDeploymentExample")
    app.synth()
