#!/usr/bin/env python3
"""One stack, several branches: production plus preview branches, each with its own content.

npx cdk deploy -c previews=feature/login,feature/search
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment, UploadMode

SITE = str(Path(__file__).parent / "site")

app = cdk.App()
stack = cdk.Stack(app, "PreviewBranches")
amplify_app = amplify.CfnApp(stack, "App", name="preview-branches")
previews = [
    p for p in (app.node.try_get_context("previews") or "feature/login,feature/search").split(",") if p
]
for index, name in enumerate(["main", *previews]):
    branch = amplify.CfnBranch(
        stack,
        f"Branch{index}",
        app_id=amplify_app.attr_app_id,
        branch_name=name,
        stage="PRODUCTION" if name == "main" else "DEVELOPMENT",
    )
    site = AmplifyDeployment(
        stack,
        f"Site{index}",
        app=amplify_app,
        branch=branch,
        sources=[
            s3deploy.Source.asset(SITE),
            s3deploy.Source.data("branch.js", f"document.title += {name!r};"),
        ],
        # Preview branches upload file by file: small changes, many files.
        upload_mode=UploadMode.ZIP if name == "main" else UploadMode.FILES,
    )
    cdk.CfnOutput(stack, f"Url{index}", value=site.branch_url, description=f"branch {name}")
app.synth()
