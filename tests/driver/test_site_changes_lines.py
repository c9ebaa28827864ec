"""What `amplify-sandbox deploy` prints under each Site: line, from the deployments' answers
(cli.change_notes), and the lines of `amplify-sandbox diff` (site_diff.diff_lines). No servers: the
whole flow through the command line is tests/e2e/test_site_changes.py."""

from amplify_deployment_handler import changes
from amplify_sandbox.driver.cli import change_notes
from amplify_sandbox.driver.results import CustomResourceRequest, DeployResult, StackResult
from amplify_sandbox.driver.site_diff import BranchDiff, diff_lines
from amplify_sandbox.driver.state import ResourceState, StackState


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
