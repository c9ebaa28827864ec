#!/usr/bin/env python3
"""A prebuilt single-page app (e.g. `npm run build` output in dist/) with client-side routing, security
headers and an optional basic-auth secret, in one construct.

    npx cdk deploy

Locally, without an AWS account (from the repository root):

    amplify-sandbox deploy examples/prebuilt_spa
"""

from pathlib import Path

import aws_cdk as cdk

from amplify_deployment import AmplifyStaticSite

app = cdk.App()
stack = cdk.Stack(app, "PrebuiltSpa")
AmplifyStaticSite(
    stack,
    "Spa",
    path=str(Path(__file__).parent / "dist"),
    single_page_app=True,
    custom_headers={
        "**/*": {
            "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
            "X-Content-Type-Options": "nosniff",
        }
    },
)
app.synth()
