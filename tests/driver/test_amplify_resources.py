"""The driver's Amplify resources against the emulator: changed properties go through
UpdateApp/UpdateBranch, a rollback puts the old ones back the same way, and destroy deletes the
branches and apps for real."""

import json

import pytest

from amplify_sandbox.driver import LocalStack

from .test_prebuilt import _app, _deploy, _template


def _write(app, template):
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(template))


def _requests(sandbox, op):
    return sandbox.emulator.counters["requests"].get(op, 0)


def _with_props(app_props=None, branch_props=None, **kwargs):
    template = _template(**kwargs)
    template["Resources"]["App"]["Properties"].update(app_props or {})
    template["Resources"]["Branch"]["Properties"].update(branch_props or {})
    return template


RULES = [{"Source": "/<*>", "Target": "/index.html", "Status": "404-200"}]


def test_a_changed_app_property_is_applied_with_update_app(tmp_path, sandbox):
    app = _app(tmp_path, _with_props({"Description": "first"}))
    first = _deploy(app, sandbox)
    assert first.ok, first.stacks[0].reason
    app_id = first.branches[0][0]
    amplify = sandbox.client("amplify")

    _write(
        app,
        _with_props(
            {
                "Name": "renamed",
                "Description": "second",
                "CustomRules": RULES,
                "EnvironmentVariables": [{"Name": "A", "Value": "1"}],
                "BasicAuthConfig": {"EnableBasicAuth": True, "Username": "u", "Password": "p"},
            },
            {"Stage": "PRODUCTION", "Description": "branch"},
        ),
    )
    lines: list[str] = []
    second = _deploy(app, sandbox, lines)
    assert second.ok, second.stacks[0].reason
    assert second.branches == [(app_id, "feature/x")]  # the same app: updated, not replaced
    state = json.loads((app / ".amplify-sandbox" / "stacks" / "Pre.json").read_text())
    assert state["resources"]["App"]["attributes"]["AppName"] == "renamed"
    assert (_requests(sandbox, "UpdateApp"), _requests(sandbox, "UpdateBranch")) == (1, 1)
    assert not any("does not implement" in line for line in lines)
    got = amplify.get_app(appId=app_id)["app"]
    assert (got["name"], got["description"], got["environmentVariables"]) == ("renamed", "second", {"A": "1"})
    assert got["customRules"] == [{"source": "/<*>", "target": "/index.html", "status": "404-200"}]
    assert (got["enableBasicAuth"], got["basicAuthCredentials"]) == (True, "dTpw")  # base64("u:p")
    branch = amplify.get_branch(appId=app_id, branchName="feature/x")["branch"]
    assert (branch["stage"], branch["description"]) == ("PRODUCTION", "branch")

    # properties removed from the template are reset, as CloudFormation does
    _write(app, _with_props({"Name": "renamed"}))
    assert _deploy(app, sandbox).ok
    got = amplify.get_app(appId=app_id)["app"]
    assert (got["description"], got["environmentVariables"], got["customRules"]) == ("", {}, [])
    assert got["enableBasicAuth"] is False and "basicAuthCredentials" not in got
    branch = amplify.get_branch(appId=app_id, branchName="feature/x")["branch"]
    assert branch["description"] == ""


def test_a_failed_update_puts_the_old_app_properties_back(tmp_path, sandbox):
    app = _app(tmp_path, _with_props({"Description": "good"}))
    first = _deploy(app, sandbox)
    assert first.ok
    app_id = first.branches[0][0]
    failing = _with_props({"Description": "bad", "CustomRules": RULES})
    failing["Resources"]["CR"]["Properties"]["Fail"] = "true"
    _write(app, failing)
    failed = _deploy(app, sandbox)
    assert failed.stacks[0].status == "UPDATE_ROLLBACK_COMPLETE", failed.stacks[0].reason
    got = sandbox.client("amplify").get_app(appId=app_id)["app"]
    assert (got["description"], got["customRules"]) == ("good", [])
    assert _requests(sandbox, "UpdateApp") == 2  # the update, then the rollback


def test_update_app_errors_fail_the_resource_and_roll_back(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    first = _deploy(app, sandbox)
    assert first.ok
    app_id = first.branches[0][0]
    _write(app, _with_props({"Platform": "MAINFRAME"}))  # the emulator refuses it: BadRequest
    failed = _deploy(app, sandbox)
    assert failed.stacks[0].status == "UPDATE_ROLLBACK_COMPLETE"
    assert "BadRequestException" in failed.stacks[0].reason and "platform" in failed.stacks[0].reason
    assert sandbox.client("amplify").get_app(appId=app_id)["app"]["platform"] == "WEB"


def test_destroy_deletes_the_branches_and_apps(tmp_path, sandbox):
    extra = {
        "Main": {
            "Type": "AWS::Amplify::Branch",
            "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}, "BranchName": "main"},
        }
    }
    app = _app(tmp_path, _template(extra))
    deployed = _deploy(app, sandbox)
    assert deployed.ok, deployed.stacks[0].reason
    app_id = deployed.branches[0][0]
    amplify = sandbox.client("amplify")
    other = amplify.create_app(name="not-in-the-stack")["app"]["appId"]
    assert {b for _a, b in deployed.branches} == {"feature/x", "main"}

    lines: list[str] = []
    destroyed = LocalStack(app, sandbox, log=lines.append).destroy()
    assert destroyed.ok and destroyed.stack("Pre").status == "DELETE_COMPLETE"
    assert not any("does not implement" in line or "left in the emulator" in line for line in lines)
    assert (_requests(sandbox, "DeleteBranch"), _requests(sandbox, "DeleteApp")) == (2, 1)
    with pytest.raises(amplify.exceptions.NotFoundException):
        amplify.get_app(appId=app_id)
    for name in ("feature/x", "main"):
        with pytest.raises(amplify.exceptions.NotFoundException):
            amplify.get_branch(appId=app_id, branchName=name)
    assert set(sandbox.emulator.backend.apps) == {other}  # nothing of the stack is left
    assert not (app / ".amplify-sandbox" / "stacks" / "Pre.json").exists()


def test_destroy_of_an_app_already_gone_from_the_emulator_completes(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    deployed = _deploy(app, sandbox)
    assert deployed.ok
    sandbox.client("amplify").delete_app(appId=deployed.branches[0][0])
    destroyed = LocalStack(app, sandbox, log=lambda _l: None).destroy()
    assert destroyed.ok and destroyed.stack("Pre").status == "DELETE_COMPLETE"
