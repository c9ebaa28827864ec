"""Conformance with a client we did not write: the AWS SDK for JavaScript v3 (``@aws-sdk/client-amplify``,
pinned in package.json, installed by scripts/setup) drives the emulator from Node.js
(tests/emulator/js/conformance.mjs): a ZIP deployment, a FILES deployment, a sourceUrl start, ListJobs
paged with nextToken, the list and tag operations and each error the emulator answers, with the SDK's
typed values (Dates, the model's enums, its exception classes) checked there. Here: what it deployed
is served byte for byte, and the errors came with the model's statuses.

botocore is what the handler uses, so a protocol detail both got wrong together would pass every
other test; this one would catch it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from amplify_sandbox.emulator.exceptions import ERRORS_BY_CODE

from ._helpers import get, make_zip

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "js" / "conformance.mjs"
SDK = ROOT / "node_modules" / "@aws-sdk" / "client-amplify" / "package.json"


def node() -> str:
    found = shutil.which("node")
    assert found, "Node.js 20+ is needed for the JavaScript SDK conformance test (the README's setup)"
    assert SDK.exists(), "run scripts/setup: it installs @aws-sdk/client-amplify (package.json) with npm ci"
    return found


def test_the_javascript_sdk_deploys_lists_tags_and_sees_each_error_as_its_class(
    sandbox: Any, tmp_path: Path
) -> None:
    assert json.loads(SDK.read_text())["version"] == "3.1169.0"  # the version package.json pins
    zip_files = {"index.html": "<h1>zip</h1>", "css/site.css": "body{color:red}"}
    (tmp_path / "site.zip").write_bytes(make_zip(zip_files))
    files = {"index.html": b"<h1>files</h1>", "img/dot.bin": bytes(range(256))}
    pulled = {"index.html": "<h1>pulled</h1>", "about/index.html": "about"}
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="js-assets")
    s3.put_object(Bucket="js-assets", Key="pulled.zip", Body=make_zip(pulled))
    source_url = s3.generate_presigned_url("get_object", Params={"Bucket": "js-assets", "Key": "pulled.zip"})
    cfg = {
        "endpoint": sandbox.amplify_endpoint,
        "region": "eu-west-1",
        "otherRegion": "us-east-1",
        "zip": str(tmp_path / "site.zip"),
        "files": {name: base64.b64encode(body).decode() for name, body in files.items()},
        "sourceUrl": source_url,
    }
    run = subprocess.run(
        [node(), str(SCRIPT), json.dumps(cfg)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["checks"] > 80
    app_id = report["appId"]
    statuses = {name: (e["name"], e["status"]) for name, e in report["errors"].items()}
    assert statuses == {
        "NotFoundException": ("NotFoundException", 404),
        "NotFoundExceptionOtherRegion": ("NotFoundException", 404),
        "BadRequestException": ("BadRequestException", 400),
        "BadRequestExceptionNotEmulated": ("BadRequestException", 400),
        "LimitExceededException": ("LimitExceededException", 429),
        "InternalFailureException": ("InternalFailureException", 500),
        "ResourceNotFoundException": ("ResourceNotFoundException", 404),
        "UnauthorizedException": ("UnauthorizedException", 401),
        "DependentServiceFailureException": ("DependentServiceFailureException", 503),
    }
    # every error shape of the model came back as its own SDK class
    assert {name for name, _ in statuses.values()} == set(ERRORS_BY_CODE)
    assert report["errors"]["BadRequestException"]["message"].startswith("The last job(deployment) ")
    assert "ListWebhooks is not emulated" in report["errors"]["BadRequestExceptionNotEmulated"]["message"]
    # what the SDK deployed is live, byte for byte: the sourceUrl zip on main, the files on feature/x
    main = sandbox.emulator.site_url(app_id, "main")
    for path, body in pulled.items():
        assert get(main + path)[2] == body.encode()
    assert get(main + "css/site.css")[0] == 403  # the sourceUrl zip replaced the ZIP deployment whole
    feature = sandbox.emulator.site_url(app_id, "feature/x")
    for path, raw in files.items():
        assert get(feature + path)[2] == raw
