"""What `amplify-sandbox deploy` prints under each Site: line, from the deployments' answers
(cli.change_notes), the lines of `amplify-sandbox diff` (site_diff.diff_lines) and its comparison
(site_diff.diff_app) on a hand-made cloud assembly and recorded stack. No servers: the whole flow
through the command line is tests/e2e/test_site_changes.py."""

import io
import zipfile

from amplify_deployment_handler import changes
from amplify_sandbox.driver.cli import change_notes
from amplify_sandbox.driver.resolver import stringify_scalars
from amplify_sandbox.driver.results import CustomResourceRequest, DeployResult, StackResult
from amplify_sandbox.driver.site_diff import UNKNOWN, BranchDiff, diff_app, diff_lines
from amplify_sandbox.driver.state import ResourceState, StackState
from amplify_sandbox.driver.synth import CloudAssembly, FileAsset, StackArtifact


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


def request(branch, data, *, status="SUCCESS", rollback=False, request_type="Update"):
    props = {"AppId": "d1", "BranchName": branch}
    r = CustomResourceRequest(
        "Site", request_type, "d1/" + branch, props, None, status=status, rollback=rollback
    )
    r.data = data
    return r


def counts(added, changed, removed):
    return {"FilesAdded": added, "FilesChanged": changed, "FilesRemoved": removed}


def state(*branches):
    s = StackState("S", "id")
    for b in branches:
        props = {"AppId": "d1", "BranchName": b}
        s.resources[f"Site{b}"] = ResourceState("Custom::AmplifyDeployment", f"d1/{b}", properties=props)
    return s


def test_each_branch_gets_its_counts_or_unchanged_or_why_not():
    result = DeployResult(
        stacks=[
            StackResult(
                "S",
                "UPDATE_COMPLETE",
                requests=[
                    request("main", counts("3", "2", "1")),
                    request("same", counts("0", "0", "0")),
                    request("gone", counts("", "", "")),
                    request("rolled", counts("9", "9", "9"), rollback=True),
                    request("failed", counts("9", "9", "9"), status="FAILED"),
                ],
            )
        ]
    )
    notes = change_notes(result, [state("main", "same", "gone", "rolled", "failed", "idle")])
    assert notes[("d1", "main")] == "+3 ~2 -1"
    assert notes[("d1", "same")] == "unchanged"
    assert notes[("d1", "gone")] == "not counted (the handler's `changes` line above says why)"
    # no successful request of this run: its properties did not change, nothing was deployed
    for branch in ("rolled", "failed", "idle"):
        assert notes[("d1", branch)] == "unchanged (not redeployed)"


def test_diff_lines():
    found = BranchDiff(
        "S", "Site", "d1", "main", changes.Changes(("b.html",), ("a.html",), ("c/d.txt",)), False
    )
    assert diff_lines(found) == [
        "Branch main of app d1  (S Site)",
        "  + b.html",
        "  ~ a.html",
        "  - c/d.txt",
        "  +1 ~1 -1  (1 added, 1 changed, 1 removed)",
    ]
    new = BranchDiff("S", "Site", "d1", "main", changes.Changes(("index.html",)), True)
    assert diff_lines(new)[0] == "Branch main of app d1 (not deployed yet)  (S Site)"
    gone = BranchDiff(
        "S", "Site", "d1", "main", changes.NotCounted("what the sandbox serves cannot be read: x"), False
    )
    assert diff_lines(gone)[1] == "  not compared: what the sandbox serves cannot be read: x"


# ---------------------------------------------------------------- diff_app on a hand-made assembly

BUCKET = "cdk-hnb659fds-assets-123456789012-us-east-1"


def deployment(key, config_value):
    return {
        "Type": "Custom::AmplifyDeployment",
        "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]},
            "AppId": {"Fn::GetAtt": ["App", "AppId"]},
            "BranchName": "main",
            "UploadMode": "ZIP",
            "Sources": [
                {
                    "BucketName": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
                    "ObjectKey": key,
                },
                {
                    "BucketName": BUCKET,
                    "ObjectKey": "config.zip",
                    "Markers": {"<<marker:0xbaba:0>>": config_value},
                },
            ],
        },
    }


def recorded(old_key, table_name):
    state = StackState("S", "arn:stack/S/1", status="UPDATE_COMPLETE")
    state.resources["App"] = ResourceState(
        "AWS::Amplify::App", "arn:app", ref="arn:app", attributes={"AppId": "d9"}
    )
    state.resources["Table"] = ResourceState("AWS::DynamoDB::Table", table_name, ref=table_name)
    props = stringify_scalars(
        {
            **deployment(old_key, table_name)["Properties"],
            "ServiceToken": "arn:fn",
            "AppId": "d9",
            "Sources": [
                {"BucketName": BUCKET, "ObjectKey": old_key},
                {
                    "BucketName": BUCKET,
                    "ObjectKey": "config.zip",
                    "Markers": {"<<marker:0xbaba:0>>": table_name},
                },
            ],
        }
    )
    state.resources["Site"] = ResourceState("Custom::AmplifyDeployment", "d9/main", properties=props)
    return state


def assembly(tmp_path, site_files, template_resources):
    site = tmp_path / "asset.new"
    for name, body in site_files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(body)
    asset = FileAsset(
        "new", "site", site, "zip", [("cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}", "new.zip")]
    )
    stack = StackArtifact("S", "S", tmp_path / "S.template.json", {"Resources": template_resources}, [asset])
    return CloudAssembly(tmp_path, {}, [stack])


def cache_with(tmp_path, objects):
    cache = tmp_path / "assets"
    for key, files in objects.items():
        (cache / BUCKET).mkdir(parents=True, exist_ok=True)
        (cache / BUCKET / key).write_bytes(make_zip(files))
    return cache


def test_diff_app_compares_the_synthesized_sites_with_the_recorded_ones(tmp_path):
    cache = cache_with(
        tmp_path,
        {
            "old.zip": {"index.html": "v1", "gone.txt": "x"},
            "config.zip": {"config.json": "<<marker:0xbaba:0>>"},
        },
    )
    resources = {"Site": deployment("new.zip", {"Ref": "Table"})}
    app = assembly(tmp_path, {"index.html": "v2", "new.txt": "y"}, resources)
    (found,) = diff_app(app, lambda name: recorded("old.zip", "t-1"), cache, "123456789012", "us-east-1")
    assert (found.app_id, found.branch, found.new) == ("d9", "main", False)
    assert found.outcome == changes.Changes(
        added=("new.txt",), changed=("index.html",), removed=("gone.txt",)
    )


def test_a_deploy_time_value_only_the_deploy_knows_counts_as_changed(tmp_path):
    cache = cache_with(
        tmp_path, {"old.zip": {"index.html": "v1"}, "config.zip": {"config.json": "<<marker:0xbaba:0>>"}}
    )
    app = assembly(tmp_path, {"index.html": "v1"}, {"Site": deployment("new.zip", {"Ref": "NewTable"})})
    (found,) = diff_app(app, lambda name: recorded("old.zip", "t-1"), cache, "123456789012", "us-east-1")
    assert found.outcome == changes.Changes(changed=("config.json",))  # NewTable is not deployed yet
    same = assembly(tmp_path, {"index.html": "v1"}, {"Site": deployment("new.zip", {"Ref": "Table"})})
    (found,) = diff_app(same, lambda name: recorded("old.zip", "t-1"), cache, "123456789012", "us-east-1")
    assert found.outcome.unchanged


def test_a_stack_never_deployed_adds_every_file(tmp_path):
    cache = cache_with(tmp_path, {"config.zip": {"config.json": "x"}})
    app = assembly(tmp_path, {"index.html": "v1"}, {"Site": deployment("new.zip", "t")})
    (found,) = diff_app(app, lambda name: None, cache, "123456789012", "us-east-1")
    assert found.new and found.app_id == UNKNOWN
    assert found.outcome == changes.Changes(added=("config.json", "index.html"))


def test_a_recorded_source_the_sandbox_has_no_copy_of_is_not_compared(tmp_path):
    cache = cache_with(tmp_path, {"config.zip": {"config.json": "x"}})
    app = assembly(tmp_path, {"index.html": "v1"}, {"Site": deployment("new.zip", {"Ref": "Table"})})
    (found,) = diff_app(app, lambda name: recorded("old.zip", "t-1"), cache, "123456789012", "us-east-1")
    assert isinstance(found.outcome, changes.NotCounted)
    assert found.outcome.why == (
        f"what the sandbox serves cannot be read: s3://{BUCKET}/old.zip is neither an asset of this app "
        "nor in the sandbox's copies"
    )
