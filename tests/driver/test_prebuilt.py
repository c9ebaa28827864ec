"""The driver on hand-written cloud assemblies (cdk.json's "app" naming an assembly folder, as the CDK
CLI allows): inline Lambda code, resource types moto provides, intrinsics it does not resolve,
and the command line."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from amplify_sandbox.driver import LocalStack

RESPONDER = textwrap.dedent(
    """
    import http.client, json, ssl, urllib.parse

    def handler(event, context):
        props = event["ResourceProperties"]
        old = event.get("OldResourceProperties") or {}
        failing = event["RequestType"] != "Delete" and (
            props.get("Fail") == "true" or "true" in (props.get("FailAlways"), old.get("FailAlways")))
        body = json.dumps({"Status": "FAILED" if failing else "SUCCESS",
                           "Reason": "told to fail" if failing else "",
                           "PhysicalResourceId": "inline-1", "StackId": event["StackId"],
                           "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
                           "Data": {"Got": event["ResourceProperties"].get("Value", "")}})
        print("inline: " + event["RequestType"])
        url = urllib.parse.urlsplit(event["ResponseURL"])
        conn = http.client.HTTPSConnection(url.netloc, context=ssl.create_default_context())
        conn.request("PUT", url.path + "?" + url.query, body=body, headers={"content-type": ""})
        conn.getresponse().read()
    """
)


def _template(extra_resources=None, value=None, runtime="python3.12"):
    resources = {
        "App": {"Type": "AWS::Amplify::App", "Properties": {"Name": "prebuilt"}},
        "Branch": {
            "Type": "AWS::Amplify::Branch",
            "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}, "BranchName": "feature/x"},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Code": {"ZipFile": RESPONDER},
                "Handler": "index.handler",
                "Runtime": runtime,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
        "CR": {
            "Type": "Custom::Inline",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]},
                "Value": value
                if value is not None
                else {"Fn::Join": [":", [{"Fn::GetAtt": ["App", "AppId"]}, {"Ref": "AWS::StackName"}]]},
            },
        },
    }
    resources.update(extra_resources or {})
    return {"Resources": resources, "Outputs": {"Got": {"Value": {"Fn::GetAtt": ["CR", "Got"]}}}}


def _app(tmp_path, template):
    app = tmp_path / "app"
    assembly = app / "assembly"
    assembly.mkdir(parents=True)
    (app / "cdk.json").write_text(json.dumps({"app": "assembly"}))
    (assembly / "Pre.template.json").write_text(json.dumps(template))
    (assembly / "manifest.json").write_text(
        json.dumps(
            {
                "version": "36.0.0",
                "artifacts": {
                    "Pre": {
                        "type": "aws:cloudformation:stack",
                        "properties": {"templateFile": "Pre.template.json"},
                    }
                },
            }
        )
    )
    return app


def _deploy(app, sandbox, lines=None):
    return LocalStack(app, sandbox, log=(lines.append if lines is not None else lambda _l: None)).deploy()


def test_inline_code_without_crhelper_and_a_branch_name_with_a_slash(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    result = _deploy(app, sandbox)
    assert result.ok, result.stacks[0].reason
    app_id = result.branches[0][0]
    assert sandbox.client("amplify").get_app(appId=app_id)["app"]["name"] == "prebuilt"
    assert result.outputs["Got"] == f"{app_id}:Pre"
    assert result.branches == [(app_id, "feature/x")]


def test_a_bucket_a_custom_resource_depends_on_is_made_in_moto(tmp_path, sandbox):
    template = _template({"Bucket": {"Type": "AWS::S3::Bucket"}}, value={"Ref": "Bucket"})
    result = _deploy(_app(tmp_path, template), sandbox)
    assert result.ok, result.stacks[0].reason
    bucket = result.outputs["Got"]
    assert bucket.startswith("pre-bucket-")
    assert bucket in [b["Name"] for b in sandbox.client("s3").list_buckets()["Buckets"]]


def _conditional_topic(env: str) -> dict:
    """A template whose Topic (and its output) exists only when the Env parameter is ``prod``."""
    template = _template({"Topic": {"Type": "AWS::SNS::Topic", "Condition": "IsProd"}})
    template["Parameters"] = {"Env": {"Type": "String", "Default": env}}
    template["Conditions"] = {
        "IsProd": {"Fn::And": [{"Fn::Equals": [{"Ref": "Env"}, "prod"]}, {"Condition": "InUsEast1"}]},
        "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
    }
    template["Outputs"]["TopicArn"] = {"Condition": "IsProd", "Value": {"Ref": "Topic"}}
    return template


def test_a_resource_whose_condition_is_false_is_not_made(tmp_path, sandbox):
    result = _deploy(_app(tmp_path, _conditional_topic("dev")), sandbox)
    assert result.ok, result.stacks[0].reason
    assert sandbox.client("sns").list_topics()["Topics"] == []
    assert "TopicArn" not in result.outputs
    assert "Topic" not in [e.logical_id for e in result.stacks[0].events]


def test_a_resource_whose_condition_is_true_is_made(tmp_path, sandbox):
    result = _deploy(_app(tmp_path, _conditional_topic("prod")), sandbox)
    assert result.ok, result.stacks[0].reason
    arns = [t["TopicArn"] for t in sandbox.client("sns").list_topics()["Topics"]]
    assert arns == [result.outputs["TopicArn"]]


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (None, "condition 'IsProd' is not declared in the template's Conditions"),
        ({"IsProd": {"Fn::Equals": [{"Ref": "Missing"}, "prod"]}}, "Ref Missing: no resource or parameter"),
        ({"IsProd": {"Fn::Contains": [["a"], "a"]}}, "a condition must be Fn::Equals, Fn::Not"),
    ],
)
def test_a_condition_the_driver_cannot_evaluate_refuses_the_template(tmp_path, sandbox, conditions, expected):
    template = _template({"Topic": {"Type": "AWS::SNS::Topic", "Condition": "IsProd"}})
    if conditions is not None:
        template["Conditions"] = conditions
    result = _deploy(_app(tmp_path, template), sandbox)
    stack = result.stacks[0]
    assert not result.ok and stack.status == "CREATE_FAILED" and result.requests == []
    assert stack.reason.startswith("Template error: ") and expected in stack.reason
    assert sandbox.client("sns").list_topics()["Topics"] == []


def test_an_unsupported_intrinsic_fails_the_resource_naming_the_place(tmp_path, sandbox):
    template = _template(value={"Fn::If": ["IsProd", "a", "b"]})
    result = _deploy(_app(tmp_path, template), sandbox)
    stack = result.stacks[0]
    assert not result.ok and stack.status == "ROLLBACK_COMPLETE"
    assert "Fn::If is not supported by the local driver" in stack.reason
    assert "(at Resources.CR.Properties.Value.Fn::If)" in stack.reason
    assert result.requests == []  # never invoked, so no Delete either


def test_a_non_python_function_behind_a_custom_resource_is_refused(tmp_path, sandbox):
    result = _deploy(_app(tmp_path, _template(runtime="nodejs20.x")), sandbox)
    assert not result.ok
    assert (
        "its function Fn has runtime 'nodejs20.x'; the local driver runs Python functions only"
        in result.stacks[0].reason
    )


def _cli(*args, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "amplify_sandbox", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        **kwargs,
    )


def test_cli_deploy_once_then_destroy(tmp_path):
    app = _app(tmp_path, _template())
    deployed = _cli("deploy", "--once", str(app))
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "Pre: CREATE_COMPLETE" in deployed.stdout
    site_lines = [line for line in deployed.stdout.splitlines() if line.startswith("Site: ")]
    assert len(site_lines) == 1 and site_lines[0].startswith("Site: http://127.0.0.1:")
    # the URL first (scripts read the second word), then which app and branch it serves
    assert re.fullmatch(
        r"Site: http://127\.0\.0\.1:\d+/  \(app prebuilt d[a-z0-9]+, branch feature/x\)", site_lines[0]
    )
    assert "  Pre.Got = d" in deployed.stdout

    again = _cli("deploy", "--once", str(app))  # a second process: state and emulator state survive
    assert again.returncode == 0 and "Pre: no changes" in again.stdout

    destroyed = _cli("destroy", str(app))
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert "CR (Custom::Inline) Delete" in destroyed.stdout and "Pre: DELETE_COMPLETE" in destroyed.stdout


def test_cli_deploy_failure_exits_non_zero(tmp_path):
    app = _app(tmp_path, _template(value={"Fn::If": ["C", "a", "b"]}))
    result = _cli("deploy", "--once", str(app))
    assert result.returncode == 1
    assert "Deploy failed: CR: Fn::If is not supported" in result.stderr


def test_cli_deploy_serves_until_sigterm(tmp_path):
    app = _app(tmp_path, _template())
    proc = subprocess.Popen(
        [sys.executable, "-m", "amplify_sandbox", "deploy", str(app)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("Serving"):
                break
        assert any(line.startswith("Site: http://127.0.0.1:") for line in seen), "".join(seen)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("missing", ["cdk.json"])
def test_cli_needs_a_cdk_app_folder(tmp_path, missing):
    result = _cli("deploy", "--once", str(tmp_path))
    assert result.returncode == 2 and f"has no {missing}" in result.stderr


def test_a_refused_template_on_update_leaves_the_stack_as_it_was(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    assert _deploy(app, sandbox).ok
    state_file = app / ".amplify-sandbox" / "stacks" / "Pre.json"
    before = state_file.read_text()
    template = _template()
    template["Resources"]["CR"]["Condition"] = "IsProd"  # refused: no such condition in Conditions
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(template))
    result = _deploy(app, sandbox)
    assert not result.ok and result.stacks[0].status == "UPDATE_FAILED" and result.requests == []
    assert state_file.read_text() == before


def test_one_deploy_at_a_time_per_state_folder(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    driver = LocalStack(app, sandbox, log=lambda _l: None)
    with driver._exclusive():
        other = LocalStack(app, sandbox, log=lambda _l: None)
        blocked = other.deploy()
        assert not blocked.ok and "another deploy or destroy is running" in blocked.error
        assert "another deploy or destroy is running" in other.destroy().error
    assert driver.deploy().ok


def test_a_rollback_deletes_the_branch_it_created_and_the_next_deploy_creates_it_again(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    assert _deploy(app, sandbox).ok
    second_branch = {
        "Second": {
            "Type": "AWS::Amplify::Branch",
            "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}, "BranchName": "feature/y"},
        }
    }
    failing = _template(second_branch)
    failing["Resources"]["CR"]["Properties"]["Fail"] = "true"
    failing["Resources"]["CR"]["DependsOn"] = ["Second"]
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(failing))
    failed = _deploy(app, sandbox)
    assert failed.stacks[0].status == "UPDATE_ROLLBACK_COMPLETE"
    assert "told to fail" in failed.stacks[0].reason
    app_id = failed.branches[0][0]
    amplify = sandbox.client("amplify")
    with pytest.raises(amplify.exceptions.NotFoundException):  # DeleteBranch during the rollback
        amplify.get_branch(appId=app_id, branchName="feature/y")

    fixed = _template(second_branch)
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(fixed))
    lines: list[str] = []
    result = _deploy(app, sandbox, lines)
    assert result.ok, result.stacks[0].reason
    assert not any("already exists" in line for line in lines)
    assert sorted(b for _a, b in result.branches) == ["feature/x", "feature/y"]


def test_a_rollback_that_fails_too_is_update_rollback_failed(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    assert _deploy(app, sandbox).ok
    broken = _template()
    broken["Resources"]["CR"]["Properties"]["FailAlways"] = "true"  # fails the update and its rollback
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(broken))
    result = _deploy(app, sandbox)
    assert not result.ok and result.stacks[0].status == "UPDATE_ROLLBACK_FAILED"
    assert [(r.request_type, r.rollback, r.status) for r in result.requests] == [
        ("Update", False, "FAILED"),
        ("Update", True, "FAILED"),
    ]
    state = json.loads((app / ".amplify-sandbox" / "stacks" / "Pre.json").read_text())
    assert state["status"] == "UPDATE_ROLLBACK_FAILED"
    assert "FailAlways" not in state["resources"]["CR"]["properties"]  # the last good properties


def test_changed_amplify_properties_are_applied_or_recorded(tmp_path, sandbox):
    app = _app(tmp_path, _template())
    first = _deploy(app, sandbox)
    assert first.ok
    changed = _template()
    changed["Resources"]["App"]["Properties"]["Description"] = "now with a description"
    changed["Resources"]["Branch"]["Properties"]["Stage"] = "BETA"
    (app / "assembly" / "Pre.template.json").write_text(json.dumps(changed))
    lines: list[str] = []
    result = _deploy(app, sandbox, lines)
    assert result.ok, result.stacks[0].reason
    assert result.branches == first.branches  # updated in place, not replaced
    assert result.requests == []  # the custom resource's properties did not change
    state = json.loads((app / ".amplify-sandbox" / "stacks" / "Pre.json").read_text())
    assert state["resources"]["App"]["properties"]["Description"] == "now with a description"
    assert state["resources"]["Branch"]["properties"]["Stage"] == "BETA"
    statuses = {e.logical_id: e.status for e in result.stacks[0].events}
    assert statuses == {"App": "UPDATE_COMPLETE", "Branch": "UPDATE_COMPLETE"}


class _NoAmplify:
    """The sandbox, except that its Amplify endpoint refuses connections."""

    def __init__(self, sandbox):
        self._sandbox = sandbox
        self.emulator = sandbox.emulator

    def env(self):
        return self._sandbox.env()

    def client(self, service, **kwargs):
        if service == "amplify":
            from botocore.config import Config

            kwargs.update(endpoint_url="http://127.0.0.1:9", config=Config(retries={"max_attempts": 1}))
        return self._sandbox.client(service, **kwargs)


def test_an_unreachable_emulator_fails_the_resource_not_the_driver(tmp_path, sandbox):
    result = _deploy(_app(tmp_path, _template()), _NoAmplify(sandbox))
    stack = result.stacks[0]
    assert not result.ok and stack.status == "ROLLBACK_COMPLETE"
    assert stack.reason.startswith("App: ") and "Could not connect to the endpoint URL" in stack.reason
