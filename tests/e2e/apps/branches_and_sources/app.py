#!/usr/bin/env python3
"""One stack carrying what the end-to-end tests of branches and sources need, so that one synth and
deploy proves several things at once:

- an ``AmplifyStaticSite`` with ``main`` (the shared content) and preview branches from the context
  (``previews``, a comma-separated list), each added by ``add_branch`` with its own content;
- a ``kitchen`` branch whose ``AmplifyDeployment`` merges every kind of source the README names (a
  folder asset, a ``.zip`` file asset, a zip already in a bucket, ``yaml_data`` with a deploy-time
  value), filtered by ``exclude``/``include`` and put under ``destination_key_prefix``;
- with ``twin`` in the context, a second ``CfnBranch`` named ``b`` (a create that meets an existing
  branch name).
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment, AmplifyStaticSite, UploadMode

HERE = Path(__file__).resolve().parent
# A zip the test puts into the sandbox's S3 before deploying ("content that is already in a bucket")
EXISTING_BUCKET = "e2e-existing-content"
EXISTING_KEY = "vendor/vendor.zip"

app = cdk.App()
stack = cdk.Stack(app, "BranchesAndSources")
previews = [p for p in str(app.node.try_get_context("previews") or "").split(",") if p]

site = AmplifyStaticSite(stack, "Site", path=str(HERE / "site_main"), app_name="branches-and-sources")
for name in previews:
    site.add_branch(name, sources=[s3deploy.Source.asset(str(HERE / f"site_{name}"))], stage="DEVELOPMENT")

kitchen = amplify.CfnBranch(stack, "Kitchen", app_id=site.app_id, branch_name="kitchen")
existing = s3.Bucket.from_bucket_name(stack, "Existing", EXISTING_BUCKET)
kitchen_deployment = AmplifyDeployment(
    stack,
    "KitchenSite",
    app=site.app,
    branch=kitchen,
    sources=[
        s3deploy.Source.asset(str(HERE / "kitchen")),
        s3deploy.Source.asset(str(HERE / "bundle.zip")),  # written by the test: a .zip file asset
        s3deploy.Source.bucket(existing, EXISTING_KEY),
        s3deploy.Source.yaml_data("config.yaml", {"appId": site.app_id, "branch": "kitchen"}),
    ],
    upload_mode=UploadMode.FILES,
    exclude=["*.map", "*.DS_Store", "drafts/*"],
    include=["drafts/keep.html"],
    destination_key_prefix="docs/v1",
)
cdk.CfnOutput(stack, "KitchenJob", value=kitchen_deployment.job_id)

if app.node.try_get_context("twin"):
    amplify.CfnBranch(stack, "Twin", app_id=site.app_id, branch_name="b")

app.synth()
