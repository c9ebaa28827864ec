"""A content-only change updates the deployment resource and nothing else (what `cdk diff` shows)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import aws_cdk as cdk

REPO = Path(__file__).resolve().parents[2]


def synth_example(site_dir: Path, outdir: Path) -> dict:
    spec = importlib.util.spec_from_file_location("example_app", REPO / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = cdk.App(outdir=str(outdir))
    stack = module.ExampleSiteStack(app, "AmplifyDeploymentExample", site_dir=site_dir)
    return app.synth().get_stack_by_name(stack.stack_name).template


def test_content_change_touches_only_the_deployment(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(REPO / "site", site)
    before = synth_example(site, tmp_path / "out1")
    (site / "index.html").write_text((site / "index.html").read_text().replace("It works.", "It changed."))
    after = synth_example(site, tmp_path / "out2")

    assert before.keys() == after.keys()
    assert before["Resources"].keys() == after["Resources"].keys()
    changed = {
        logical_id: resource["Type"]
        for logical_id, resource in after["Resources"].items()
        if resource != before["Resources"][logical_id]
    }
    # The site's object key changes, and with it the deployment's properties and its two read
    # policies (the one updated before it, and the one updated after it: PreviousSourcesReadPolicy).
    assert sorted(changed.values()) == ["AWS::IAM::Policy", "AWS::IAM::Policy", "Custom::AmplifyDeployment"]
    policy_ids = sorted(k for k, t in changed.items() if t == "AWS::IAM::Policy")
    assert all("SourcesReadPolicy" in k for k in policy_ids)
    assert len([k for k in policy_ids if "Previous" in k]) == 1
    deployment_id = next(k for k, t in changed.items() if t == "Custom::AmplifyDeployment")
    old_sources = before["Resources"][deployment_id]["Properties"]["Sources"]
    new_sources = after["Resources"][deployment_id]["Properties"]["Sources"]
    assert old_sources[0]["ObjectKey"] != new_sources[0]["ObjectKey"]
    assert old_sources[1] == new_sources[1]  # config.json is unchanged
