#!/usr/bin/env python3
"""One stack, several branches: production plus preview branches, each with its own content.

The previews come from the context, e.g. ``npx cdk deploy -c previews=feature/login,feature/search``
(or ``"context": {"previews": "feature/login,feature/search"}`` in cdk.json, which the local sandbox
reads too). Adding and removing previews is changing that list:

    npx cdk deploy -c previews=feature/login,feature/search   # main + 2 previews
    npx cdk deploy -c previews=feature/login,feature/search,fix/typo   # adds fix/typo only
    npx cdk deploy -c previews=feature/search,fix/typo         # deletes feature/login only

Locally, without an AWS account (from the repository root), the same with ``amplify-sandbox``:

    amplify-sandbox deploy examples/preview_branches -c previews=feature/login,feature/search

Each branch's construct ids (and so its logical ids) derive from its name, never from its place in the
list: removing ``feature/login`` leaves ``main``, ``feature/search`` and ``fix/typo`` untouched (same
branch, same deployment, no redeploy); only ``feature/login``'s branch and deployment are deleted.
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyStaticSite, UploadMode

SITE = str(Path(__file__).parent / "site")

app = cdk.App()
stack = cdk.Stack(app, "PreviewBranches")
previews = [
    p for p in (app.node.try_get_context("previews") or "feature/login,feature/search").split(",") if p
]

# The shared site is the default content; every branch is added by name.
site = AmplifyStaticSite(stack, "Site", path=SITE, app_name="preview-branches", branches=[])
site.add_branch("main", stage="PRODUCTION")
for name in previews:
    site.add_branch(
        name,
        # Its own content: the shared site plus a file naming the branch.
        sources=[
            s3deploy.Source.asset(SITE),
            s3deploy.Source.data("branch.js", f"document.title += {name!r};"),
        ],
        stage="DEVELOPMENT",
        # Preview branches upload file by file: small changes, many files.
        upload_mode=UploadMode.FILES,
    )
app.synth()
