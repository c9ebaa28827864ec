"""The driver end to end on a small CDK app of its own (tests/driver/apps/echo): an Amplify app and
branch, and a custom resource served by a crhelper echo handler. Real synth, real moto S3, real emulator,
real subprocess Lambda, real HTTPS ResponseURL."""

import json

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack

from .conftest import edit_settings

STACK = "DriverEchoStack"


def _deploy(app, sandbox, lines=None):
    return LocalStack(app, sandbox, log=(lines.append if lines is not None else lambda _l: None)).deploy()


def _state(app):
    return json.loads((app / ".amplify-sandbox" / "stacks" / f"{STACK}.json").read_text())


def test_create_update_unchanged_destroy_across_restarts(echo_app):
    """Each step runs a new Sandbox on the same state_dir and a new LocalStack: a restart in between."""
    edit_settings(echo_app, log_level="DEBUG")  # crhelper then logs the whole event, ResponseURL included
    emulator_state = echo_app / ".amplify-sandbox" / "emulator"
    lines: list[str] = []

    with Sandbox(state_dir=emulator_state) as sb:
        created = _deploy(echo_app, sb, lines)
        assert created.ok, created.stacks[0].reason
        assert created.stack(STACK).status == "CREATE_COMPLETE"
        (create,) = created.requests
        assert create.request_type == "Create" and create.physical_resource_id is None
        props = create.resource_properties
        app_id = created.outputs["AppId"]
        assert props["AppId"] == app_id and props["BranchName"] == "main"
        assert props["Domain"] == f"{app_id}.amplifyapp.com"
        # every scalar arrives as a string, as CloudFormation delivers them
        assert props["Number"] == "42" and props["Fail"] == "false"
        assert props["Nested"] == {"Flag": "true", "List": ["1", "two", "false"]}
        assert props["Region"] == "us-east-1-123456789012"
        assert props["Joined"] == f"{STACK}/aws/amazonaws.com" and props["Picked"] == "b"
        assert props["ServiceToken"].startswith("arn:aws:lambda:us-east-1:123456789012:function:")
        assert create.data["Types"] == '["str"]'
        assert create.data["EchoVar"] == "from-the-template"
        assert create.data["AnyServiceEndpoint"] == sb.s3_endpoint  # other services: moto, never AWS
        assert create.data["TmpIsPrivateAndEmpty"] == "True"
        assert create.data["CanImportCfnLint"] == "False"  # the function sees boto3 + its bundle only
        assert created.outputs["EchoMessage"] == "hello" and created.outputs["EchoRequestType"] == "Create"
        assert created.outputs["EchoPhysicalId"] == "echo-Echo"
        assert (
            sb.client("amplify").get_branch(appId=app_id, branchName="main")["branch"]["branchName"] == "main"
        )
        assert created.branches == [(app_id, "main")]

    state = _state(echo_app)
    assert state["status"] == "CREATE_COMPLETE"
    assert state["resources"]["Echo"]["physical_id"] == "echo-Echo"
    assert state["resources"]["Echo"]["type"] == "Custom::Echo"
    assert state["resources"]["App"]["attributes"]["AppId"] == app_id
    printed = "\n".join(lines)
    assert "Echo λ | " in printed and "echo: Create hello" in printed  # the handler's log, streamed
    assert "X-Amz-Signature" not in printed and "<redacted>" in printed  # ResponseURL never printed

    with Sandbox(state_dir=emulator_state) as sb:
        unchanged_lines: list[str] = []
        unchanged = _deploy(echo_app, sb, unchanged_lines)
        assert unchanged.ok and unchanged.requests == [] and not unchanged.stack(STACK).changed
        # a fresh (in-memory) moto: the earlier assets were put back from .amplify-sandbox/assets/
        asset_lines = [line for line in unchanged_lines if line.startswith("assets: ")]
        assert asset_lines and all(line.endswith("(already published)") for line in asset_lines)
        assert unchanged.outputs["EchoMessage"] == "hello"

    edit_settings(echo_app, message="bye")
    with Sandbox(state_dir=emulator_state) as sb:
        updated = _deploy(echo_app, sb)
        assert updated.ok and updated.stack(STACK).status == "UPDATE_COMPLETE"
        (update,) = updated.requests
        assert update.request_type == "Update"
        assert update.physical_resource_id == "echo-Echo"  # what Create returned
        assert update.resource_properties["Message"] == "bye"
        assert update.old_resource_properties == {**props, "Message": "hello"}
        assert update.data["OldMessage"] == "hello"
        assert updated.outputs["EchoMessage"] == "bye" and updated.outputs["AppId"] == app_id  # not recreated

    with Sandbox(state_dir=emulator_state) as sb:
        destroyed = LocalStack(echo_app, sb, log=lambda _l: None).destroy()
        assert destroyed.ok and destroyed.stack(STACK).status == "DELETE_COMPLETE"
        (delete,) = destroyed.requests
        assert delete.request_type == "Delete" and delete.physical_resource_id == "echo-Echo"
        assert delete.resource_properties["Message"] == "bye"
    assert not (echo_app / ".amplify-sandbox" / "stacks" / f"{STACK}.json").exists()


def test_a_failed_update_rolls_back_with_the_old_properties(echo_app, sandbox):
    assert _deploy(echo_app, sandbox).ok
    edit_settings(echo_app, message="boom", fail=True)
    lines: list[str] = []
    result = _deploy(echo_app, sandbox, lines)
    assert not result.ok
    stack = result.stack(STACK)
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "told to fail with message boom" in stack.reason
    failed, rollback = result.requests
    assert (failed.request_type, failed.status, failed.rollback) == ("Update", "FAILED", False)
    assert failed.resource_properties["Message"] == "boom"
    assert (rollback.request_type, rollback.status, rollback.rollback) == ("Update", "SUCCESS", True)
    assert rollback.resource_properties["Message"] == "hello"  # old and new swapped
    assert rollback.old_resource_properties["Message"] == "boom"
    assert rollback.physical_resource_id == "echo-Echo"
    state = _state(echo_app)
    assert state["status"] == "UPDATE_ROLLBACK_COMPLETE"
    assert state["resources"]["Echo"]["properties"]["Message"] == "hello"
    assert stack.outputs["EchoMessage"] == "hello"
    assert f"{STACK}: UPDATE_ROLLBACK_COMPLETE" in lines

    # fixed: the next run updates from the rolled-back state
    edit_settings(echo_app, message="fixed", fail=False)
    again = _deploy(echo_app, sandbox)
    assert again.ok and again.requests[0].old_resource_properties["Message"] == "hello"


def test_a_handler_that_never_answers_is_killed_at_its_timeout_and_fails(echo_app, sandbox):
    # 5 s: enough for the rollback's Delete (crhelper and boto3 imports) to finish on a busy machine
    edit_settings(echo_app, timeout=5, extra={"RawSleep": "60"})
    result = _deploy(echo_app, sandbox)
    stack = result.stack(STACK)
    assert not result.ok and stack.status == "ROLLBACK_COMPLETE"
    create = result.requests[0]
    assert create.request_type == "Create" and create.status == "FAILED"
    assert "No response from the custom resource handler" in create.reason
    assert "Task timed out after 5.00 seconds" in create.reason
    assert [r.request_type for r in result.requests] == ["Create", "Delete"]  # rollback deletes it
    assert not (echo_app / ".amplify-sandbox" / "stacks" / f"{STACK}.json").exists()


def test_a_bundle_without_crhelper_fails_clearly(echo_app, sandbox):
    edit_settings(echo_app, bundle_crhelper=False)
    result = _deploy(echo_app, sandbox)
    stack = result.stack(STACK)
    assert not result.ok
    assert (
        "Runtime.ImportModuleError: Unable to import module 'index': No module named 'crhelper'"
        in stack.reason
    )
    # the rollback's Delete fails the same way: CloudFormation would show ROLLBACK_FAILED too
    assert stack.status == "ROLLBACK_FAILED"


def test_lambda_retries_an_errored_invocation_that_did_not_answer(echo_app, sandbox):
    edit_settings(echo_app, retries=1, memory=128, extra={"Allocate": "300"})
    lines: list[str] = []
    result = _deploy(echo_app, sandbox, lines)
    assert not result.ok
    assert "signal: killed" in result.requests[0].reason
    assert any("Lambda retries the asynchronous invocation (attempt 2 of 2)" in line for line in lines)


def test_an_update_that_returns_a_new_physical_id_deletes_the_old_one(echo_app, sandbox):
    assert _deploy(echo_app, sandbox).ok
    edit_settings(echo_app, extra={"PhysicalId": "echo-v2"})
    result = _deploy(echo_app, sandbox)
    assert result.ok
    update, delete = result.requests
    assert (update.request_type, update.physical_resource_id, update.response_physical_id) == (
        "Update",
        "echo-Echo",
        "echo-v2",
    )
    # after the update succeeded: Delete for the replaced physical id, with the old properties
    assert (delete.request_type, delete.physical_resource_id) == ("Delete", "echo-Echo")
    assert "PhysicalId" not in delete.resource_properties
    assert result.outputs["EchoPhysicalId"] == "echo-v2"
    assert _state(echo_app)["resources"]["Echo"]["physical_id"] == "echo-v2"
