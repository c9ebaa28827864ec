"""Every example in examples/ synthesizes, passes cfn-lint (no errors) and cdk-nag's AwsSolutions pack."""

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
