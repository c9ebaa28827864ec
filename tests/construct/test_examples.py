"""Every example in examples/ synthesizes, passes cfn-lint (no errors) and cdk-nag's AwsSolutions pack; the
preview branches example adds and removes previews through `cdk synth -c` as its docstring says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/app.py"))
NAG_WRAPPER = Path(__file__).with_name("nag_wrapper.py")


def test_the_examples_are_there():
    assert {p.name for p in EXAMPLES} >= {
        "existing_app",
        "preview_branches",
        "deploy_time_config",
        "prebuilt_spa",
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_synthesizes_lints_and_passes_nag(example, tmp_path):
    env = dict(os.environ, CDK_OUTDIR=str(tmp_path), JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")
    result = subprocess.run(
        [sys.executable, str(NAG_WRAPPER), "app.py"], cwd=example, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [(p["pluginName"], p["conclusion"]) for p in report["pluginReports"]] == [
        ("AwsSolutions", "success")
    ]
    templates = list(tmp_path.glob("*.template.json"))
    assert templates
    for template in templates:
        resources = json.loads(template.read_text())["Resources"]
        assert any(r["Type"] == "Custom::AmplifyDeployment" for r in resources.values())
        lint = subprocess.run(
            [sys.executable, "-m", "cfnlint", str(template)], capture_output=True, text=True
        )
        assert not lint.returncode & 2, lint.stdout


def cdk_synth(app_dir: Path, out: Path, *context: str) -> dict:
    """`npx cdk synth -c ...` in an example's folder, as its docstring tells users to deploy it."""
    cdk = REPO / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.fail("the CDK CLI is not installed: run `npm ci` (scripts/test does)")
    env = dict(os.environ, JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")
    # cdk.json runs `python3 app.py`: the interpreter running the tests must be the one found.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    argv = [str(cdk), "synth", "--no-notices", "--quiet", "--output", str(out)]
    for value in context:
        argv += ["-c", value]
    result = subprocess.run(argv, cwd=app_dir, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "PreviewBranches.template.json").read_text())


def test_preview_branches_removing_a_preview_from_the_context_deletes_only_it(tmp_path):
    """The example's docstring: `-c previews=feature/login,feature/search,fix/typo`, then
    `-c previews=feature/search,fix/typo` deletes feature/login's branch and deployment only."""
    app_dir = REPO / "examples" / "preview_branches"
    before = cdk_synth(app_dir, tmp_path / "before", "previews=feature/login,feature/search,fix/typo")
    after = cdk_synth(app_dir, tmp_path / "after", "previews=feature/search,fix/typo")
    for logical, resource in after["Resources"].items():
        assert before["Resources"].get(logical) == resource, logical
    gone = set(before["Resources"]) - set(after["Resources"])
    branches = {
        before["Resources"][k]["Properties"]["BranchName"]
        for k in gone
        if before["Resources"][k]["Type"] in ("AWS::Amplify::Branch", "Custom::AmplifyDeployment")
    }
    assert branches == {"feature/login"}
    assert gone and all("FeatureLogin" in logical for logical in gone), sorted(gone)
    assert set(after["Outputs"]) < set(before["Outputs"])
    assert len(before["Outputs"]) - len(after["Outputs"]) == 1
