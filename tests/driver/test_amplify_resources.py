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


def test_changed_tags_are_applied_with_tag_and_untag_resource(tmp_path, sandbox):
    tags = [{"Key": "team", "Value": "web"}, {"Key": "cost", "Value": "1"}]
    app = _app(tmp_path, _with_props({"Tags": tags}, {"Tags": [{"Key": "stage", "Value": "dev"}]}))
    first = _deploy(app, sandbox)
    assert first.ok, first.stacks[0].reason
    app_id = first.branches[0][0]
    amplify = sandbox.client("amplify")
    assert amplify.get_app(appId=app_id)["app"]["tags"] == {"team": "web", "cost": "1"}

    _write(app, _with_props({"Tags": [{"Key": "team", "Value": "site"}]}, {}))
    assert _deploy(app, sandbox).ok
    app_arn = amplify.get_app(appId=app_id)["app"]["appArn"]
    assert amplify.list_tags_for_resource(resourceArn=app_arn)["tags"] == {"team": "site"}
    assert amplify.get_branch(appId=app_id, branchName="feature/x")["branch"]["tags"] == {}
    assert (_requests(sandbox, "TagResource"), _requests(sandbox, "UntagResource")) == (1, 2)


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


# ---------------------------------------------------------------------- a create meets an existing name
def _branch(name, app="App"):
    return {
        "Type": "AWS::Amplify::Branch",
        "Properties": {"AppId": {"Fn::GetAtt": [app, "AppId"]}, "BranchName": name},
    }


def _branch_names(sandbox, app_id):
    return set(sandbox.emulator.backend.get_app(app_id).branches)


def _state(app):
    return json.loads((app / ".amplify-sandbox" / "stacks" / "Pre.json").read_text())


def test_a_branch_made_outside_the_stack_fails_the_create_and_is_left_alone(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    first = _deploy(app, sandbox)
    assert first.ok
    app_id = first.branches[0][0]
    amplify = sandbox.client("amplify")
    # made by hand (or by a run interrupted before it recorded the branch)
    amplify.create_branch(appId=app_id, branchName="feature/y", description="by hand")
    before = _state(app)

    _write(app, _template({"Second": _branch("feature/y")}))
    failed = _deploy(app, sandbox)
    stack = failed.stacks[0]
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.reason.startswith(
        f'Second: Resource handler returned message: "Branch feature/y already exists for app {app_id}."'
    )
    assert "(HandlerErrorCode: AlreadyExists)" in stack.reason
    assert "no stack holds it: delete that branch or rename this one" in stack.reason
    (event,) = [e for e in stack.events if e.logical_id == "Second"]
    assert event.status == "CREATE_FAILED"
    # never adopted, never deleted: the hand-made branch is as it was
    assert amplify.get_branch(appId=app_id, branchName="feature/y")["branch"]["description"] == "by hand"
    assert _requests(sandbox, "DeleteBranch") == 0
    after = _state(app)
    assert "Second" not in after["resources"] and after["resources"] == before["resources"]
    assert failed.branches == [(app_id, "feature/x")]


def test_a_branch_another_resource_holds_fails_the_create_naming_the_stack(tmp_path, sandbox):
    # branches named by position: removing "a" shifts "b" onto A's logical id, which is then a
    # replacement whose new branch "b" still exists (held by B until the cleanup)
    app = _app(tmp_path, _template({"A": _branch("a"), "B": _branch("b")}))
    first = _deploy(app, sandbox)
    assert first.ok, first.stacks[0].reason
    app_id = first.branches[0][0]
    stack_id = _state(app)["stackId"]

    _write(app, _template({"A": _branch("b")}))
    failed = _deploy(app, sandbox)
    stack = failed.stacks[0]
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.reason.startswith(
        f"A: b already exists in stack {stack_id} (branch of app {app_id}, held by B)"
    )
    assert len(stack.reason) <= 240
    # both branches are still there, and the stack is as before (its outputs still name both)
    assert _branch_names(sandbox, app_id) == {
        "feature/x",
        "a",
        "b",
    }
    assert _requests(sandbox, "DeleteBranch") == 0
    assert sorted(b for _a, b in failed.branches) == ["a", "b", "feature/x"]
    assert _state(app)["resources"]["A"]["properties"]["BranchName"] == "a"

    # the same change with stable ids (B kept, A removed): A's branch alone is deleted
    _write(app, _template({"B": _branch("b")}))
    fixed = _deploy(app, sandbox)
    assert fixed.ok, fixed.stacks[0].reason
    assert _branch_names(sandbox, app_id) == {"feature/x", "b"}


def test_two_resources_of_a_new_stack_naming_one_branch_fail_and_roll_back(tmp_path, sandbox):
    template = _template({"Twin": _branch("feature/x")})
    template["Resources"]["Twin"]["DependsOn"] = ["Branch"]
    app = _app(tmp_path, template)
    failed = _deploy(app, sandbox)
    stack = failed.stacks[0]
    assert stack.status == "ROLLBACK_COMPLETE"
    assert stack.reason.startswith("Twin: feature/x already exists in stack arn:aws:cloudformation:")
    assert "held by Branch)" in stack.reason
    assert sandbox.emulator.backend.apps == {}  # what the create made is deleted


def test_cleanup_never_deletes_a_branch_another_resource_still_holds(tmp_path, sandbox):
    # a state written by an older driver that adopted "feature/x" for a second logical id
    app = _app(tmp_path, _template())
    first = _deploy(app, sandbox)
    assert first.ok
    app_id = first.branches[0][0]
    path = app / ".amplify-sandbox" / "stacks" / "Pre.json"
    state = json.loads(path.read_text())
    state["resources"]["Adopted"] = dict(state["resources"]["Branch"])
    state["order"].append("Adopted")
    path.write_text(json.dumps(state))

    lines: list[str] = []
    updated = _deploy(app, sandbox, lines)  # "Adopted" is gone from the template: cleaned up
    assert updated.ok, updated.stacks[0].reason
    assert any("Adopted: not deleting" in line and "Branch of the stack holds it" in line for line in lines)
    assert sandbox.client("amplify").get_branch(appId=app_id, branchName="feature/x")
    assert "Adopted" not in _state(app)["resources"]
