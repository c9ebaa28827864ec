#!/usr/bin/env python3
"""Two branches of one Amplify app deployed from one stack: main in ZIP mode, a preview branch
(with a "/" in its name) in FILES mode with a deploy-time file."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment, UploadMode

HERE = Path(__file__).resolve().parent


class TwoBranchesStack(cdk.Stack):
    def __init__(self, scope, construct_id, **kwargs):
        super().__init__(scope, construct_id, **kwargs)
        app = amplify.CfnApp(self, "App", name="two-branches")
        main = amplify.CfnBranch(self, "Main", app_id=app.attr_app_id, branch_name="main", stage="PRODUCTION")
        preview = amplify.CfnBranch(self, "Preview", app_id=app.attr_app_id, branch_name="feature/preview")
        main_site = AmplifyDeployment(
            self, "MainSite", app=app, branch=main, sources=[s3deploy.Source.asset(str(HERE / "site_main"))]
        )
        preview_site = AmplifyDeployment(
            self,
            "PreviewSite",
            app=app,
            branch=preview,
            upload_mode=UploadMode.FILES,
            sources=[
                s3deploy.Source.asset(str(HERE / "site_preview")),
                s3deploy.Source.data("build.txt", f"app {app.attr_app_id}, branch {preview.branch_name}"),
            ],
        )
        cdk.CfnOutput(self, "MainUrl", value=main_site.branch_url)
        cdk.CfnOutput(self, "PreviewUrl", value=preview_site.branch_url)
        cdk.CfnOutput(self, "PreviewJob", value=preview_site.job_id)


app = cdk.App()
TwoBranchesStack(app, "TwoBranches")
app.synth()
