#!/usr/bin/env python3
"""Twenty branches of one AmplifyStaticSite, each with its own page (issue 19): more deployments in
one stack than the account's concurrent-jobs quota (5 by default) lets run at once.

- ``-c branches=b03,b04,...`` (comma-separated) chooses the branches; default ``b01`` .. ``b20``.
- The CloudFormation parameter ``Version`` (default ``v1``) is on every branch's page, so deploying
  the same cloud assembly with another value changes the content of all twenty at once.
- Branches with an even number upload file by file (FILES), the others as one zip (ZIP). The mode
  derives from the name, so adding or removing a branch leaves the others untouched.
"""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyStaticSite, UploadMode

SITE = str(Path(__file__).parent / "site")
DEFAULT = ",".join(f"b{i:02d}" for i in range(1, 21))

app = cdk.App()
stack = cdk.Stack(app, "TwentyBranches")
version = cdk.CfnParameter(stack, "Version", type="String", default="v1")
names = [n for n in (app.node.try_get_context("branches") or DEFAULT).split(",") if n]
site = AmplifyStaticSite(stack, "Site", path=SITE, app_name="twenty-branches", branches=[])
for name in names:
    site.add_branch(
        name,
        sources=[
            s3deploy.Source.asset(SITE),
            s3deploy.Source.data("index.html", f"<h1>{version.value_as_string} {name}</h1>\n"),
        ],
        upload_mode=UploadMode.FILES if int(name[1:]) % 2 == 0 else UploadMode.ZIP,
    )
app.synth()
