"""The example app synthesizes the way users run it: the CDK CLI from npm, `python app.py`, cfn-lint;
and the library works when installed by pip into another app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK = "AmplifyDeploymentExample"


def env_with_venv() -> dict[str, str]:
    env = dict(os.environ)
    # `cdk.json` runs `python3 app.py`: the interpreter running the tests must be the one found.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env


def cfn_lint_errors(template: Path) -> str:
    # cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", str(template)], capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode & 2 else ""


def test_cdk_cli_synth_and_cfn_lint(tmp_path):
    cdk = REPO / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.fail("the CDK CLI is not installed: run `npm ci` (scripts/test does)")
    out = tmp_path / "cdk.out"
    subprocess.run(
        [str(cdk), "synth", "--no-notices", "--quiet", "--output", str(out)],
        cwd=REPO,
        env=env_with_venv(),
        check=True,
        capture_output=True,
    )
    template = out / f"{STACK}.template.json"
    resources = json.loads(template.read_text())["Resources"]
    assert [r for r in resources.values() if r["Type"] == "Custom::AmplifyDeployment"]
    assert cfn_lint_errors(template) == ""


def test_python_app_synth(tmp_path):
    env = env_with_venv() | {"CDK_OUTDIR": str(tmp_path)}
    subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, check=True, capture_output=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert STACK in manifest["artifacts"]
    assert cfn_lint_errors(tmp_path / f"{STACK}.template.json") == ""


SECOND_APP = """
import aws_cdk as cdk
from aws_cdk import aws_s3_deployment as s3deploy
import amplify_deployment
from amplify_deployment import AmplifyDeployment, UploadMode

print("LIBRARY", amplify_deployment.__file__)
app = cdk.App()
stack = cdk.Stack(app, "ExistingApp")
for branch, mode in (("main", UploadMode.ZIP), ("preview/next", UploadMode.FILES)):
    site = AmplifyDeployment(
        stack, "Site-" + branch.replace("/", "-"), app="d2b3c4d5e6", branch=branch,
        sources=[s3deploy.Source.asset("site"), s3deploy.Source.data("branch.txt", branch)],
        upload_mode=mode,
    )
    cdk.CfnOutput(stack, "Url-" + branch.replace("/", "-"), value=site.branch_url)
app.synth()
"""


def test_wheel_in_fresh_virtualenv_synthesizes_another_app(tmp_path):
    """The built wheel, pip-installed into a new virtualenv beside a new CDK app (not this repo), with an
    existing app id string and two branches."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(wheels.glob("cdk_amplify_deployment-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The wheel's own dependency ranges resolve; requirements.txt pins them to what the repo tests.
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(REPO / "requirements.txt"), str(wheel)],
        check=True,
        capture_output=True,
    )
    app_dir = tmp_path / "app"
    (app_dir / "site").mkdir(parents=True)
    (app_dir / "site" / "index.html").write_text("<h1>second</h1>")
    (app_dir / "app.py").write_text(SECOND_APP)
    out = tmp_path / "cdk.out"
    env = env_with_venv() | {"CDK_OUTDIR": str(out)}
    result = subprocess.run(
        [str(python), "app.py"], cwd=app_dir, env=env, check=True, capture_output=True, text=True
    )
    assert f"LIBRARY {venv}" in result.stdout, result.stdout
    template = json.loads((out / "ExistingApp.template.json").read_text())
    deployments = [r for r in template["Resources"].values() if r["Type"] == "Custom::AmplifyDeployment"]
    assert sorted((d["Properties"]["BranchName"], d["Properties"]["UploadMode"]) for d in deployments) == [
        ("main", "ZIP"),
        ("preview/next", "FILES"),
    ]
    assert {d["Properties"]["AppId"] for d in deployments} == {"d2b3c4d5e6"}
    outputs = {o["Value"] for o in template["Outputs"].values()}
    assert outputs == {
        "https://main.d2b3c4d5e6.amplifyapp.com",
        "https://preview-next.d2b3c4d5e6.amplifyapp.com",
    }
    # The installed wheel carries the handler and py.typed, and synth bundled the handler with crhelper.
    assert list(venv.glob("lib/python3*/site-packages/amplify_deployment/py.typed"))
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 1
    asset = out / ("asset." + functions[0]["Properties"]["Code"]["S3Key"].removesuffix(".zip"))
    assert (asset / "amplify_deployment_handler" / "index.py").is_file()
    assert (asset / "crhelper" / "resource_helper.py").is_file()
