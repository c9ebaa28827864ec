"""Resources of a stack run concurrently, as on CloudFormation, and a function that never answers
holds its resource for the ServiceTimeout. Hand-written cloud assemblies with an inline handler that
can meet another one (each writes a file, then waits for the other's), fail, or not answer at all.

Nothing here asserts elapsed time: concurrency shows as two handlers that met (impossible one after
the other) and as overlapping request intervals; order as one interval ending before another began.
"""

import json
import signal
import textwrap
import threading

import pytest

from amplify_sandbox.driver import LocalStack

STACK = "Conc"

HANDLER = textwrap.dedent(
    """
    import http.client, json, os, ssl, time, urllib.parse

    def handler(event, context):
        props = event["ResourceProperties"]
        creating = event["RequestType"] != "Delete"
        if creating and props.get("NoAnswer") == "true":
            print("conc: returning without answering")
            return
        met = ""
        if creating and props.get("Touch"):
            open(props["Touch"], "w").close()
        if creating and props.get("WaitFor"):
            end = time.time() + float(props.get("WaitLimit", "20"))
            while not os.path.exists(props["WaitFor"]) and time.time() < end:
                time.sleep(0.02)
            met = str(os.path.exists(props["WaitFor"])).lower()
        failing = creating and props.get("Fail") == "true"
        body = json.dumps({"Status": "FAILED" if failing else "SUCCESS",
                           "Reason": "told to fail" if failing else "",
                           "PhysicalResourceId": "conc-" + event["LogicalResourceId"],
                           "StackId": event["StackId"], "RequestId": event["RequestId"],
                           "LogicalResourceId": event["LogicalResourceId"], "Data": {"Met": met}})
        print("conc: " + event["RequestType"] + " " + event["LogicalResourceId"])
        url = urllib.parse.urlsplit(event["ResponseURL"])
        conn = http.client.HTTPSConnection(url.netloc, context=ssl.create_default_context())
        conn.request("PUT", url.path + "?" + url.query, body=body, headers={"content-type": ""})
        conn.getresponse().read()
    """
)


def _custom(props, depends_on=None):
    resource = {
        "Type": "Custom::Conc",
        "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}, **props},
    }
    if depends_on:
        resource["DependsOn"] = depends_on
    return resource


def _app(tmp_path, resources, with_amplify=False):
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"ZipFile": HANDLER},
                    "Handler": "index.handler",
                    "Runtime": "python3.12",
                    "Timeout": 60,
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                },
            },
            "Retries": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {
                    "FunctionName": {"Ref": "Fn"},
                    "Qualifier": "$LATEST",
                    "MaximumRetryAttempts": 0,
                },
            },
            **resources,
        }
    }
    if with_amplify:
        template["Resources"]["App"] = {"Type": "AWS::Amplify::App", "Properties": {"Name": "conc"}}
        template["Resources"]["Branch"] = {
            "Type": "AWS::Amplify::Branch",
            "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}, "BranchName": "main"},
        }
    app = tmp_path / "app"
    assembly = app / "assembly"
    assembly.mkdir(parents=True)
    (app / "cdk.json").write_text(json.dumps({"app": "assembly"}))
    (assembly / f"{STACK}.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "36.0.0",
        "artifacts": {
            STACK: {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": f"{STACK}.template.json"},
            }
        },
    }
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    return app


def _request(result, lid, request_type="Create"):
    (found,) = [r for r in result.requests if r.logical_id == lid and r.request_type == request_type]
    return found


def _overlap(a, b):
    return a.sent_at < b.ended_at and b.sent_at < a.ended_at


def _meet(rendezvous, me, other, **extra):
    return {"Touch": str(rendezvous / me), "WaitFor": str(rendezvous / other), **extra}


def test_independent_custom_resources_run_at_once_and_a_dependent_one_waits(tmp_path, sandbox):
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    app = _app(
        tmp_path,
        {
            "A": _custom(_meet(rendezvous, "A", "B")),
            "B": _custom(_meet(rendezvous, "B", "A")),
            "C": _custom({"After": {"Fn::GetAtt": ["A", "Met"]}}),  # a GetAtt dependency on A
            "D": _custom({}, depends_on=["B"]),
        },
    )
    lines: list[str] = []
    result = LocalStack(app, sandbox, log=lines.append).deploy()
    assert result.ok, result.stacks[0].reason
    a, b, c, d = (_request(result, lid) for lid in "ABCD")
    # each found the other's file while waiting: they were running at the same time
    assert (a.data["Met"], b.data["Met"]) == ("true", "true")
    assert _overlap(a, b)
    # a dependent starts only after its dependency's answer
    assert a.ended_at <= c.sent_at and c.resource_properties["After"] == "true"
    assert b.ended_at <= d.sent_at
    events = {(e.logical_id, e.status): e.timestamp for e in result.stacks[0].events}
    assert events[("A", "CREATE_COMPLETE")] <= c.sent_at
    assert events[("B", "CREATE_COMPLETE")] <= d.sent_at
    # the function is recorded before any custom resource that needs it is sent a request
    assert events[("Fn", "CREATE_COMPLETE")] <= min(a.sent_at, b.sent_at)
    # one line per event, whatever the interleaving
    assert sum(f"{STACK} | A (Custom::Conc) CREATE_COMPLETE" in line for line in lines) == 1
    assert all("\n" not in line for line in lines)

    # destroy: concurrent too, dependents first
    destroyed = LocalStack(app, sandbox, log=lambda _l: None).destroy()
    assert destroyed.ok
    deletes = {r.logical_id: r for r in destroyed.requests}
    assert set(deletes) == {"A", "B", "C", "D"}
    assert deletes["C"].ended_at <= deletes["A"].sent_at
    assert deletes["D"].ended_at <= deletes["B"].sent_at


def test_max_parallel_one_runs_them_one_after_the_other(tmp_path, sandbox, monkeypatch):
    monkeypatch.setenv("AMPLIFY_SANDBOX_MAX_PARALLEL", "1")
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    app = _app(
        tmp_path,
        {
            "A": _custom(_meet(rendezvous, "A", "B", WaitLimit="0.5")),
            "B": _custom(_meet(rendezvous, "B", "A", WaitLimit="0.5")),
        },
    )
    result = LocalStack(app, sandbox, log=lambda _l: None).deploy()
    assert result.ok, result.stacks[0].reason
    a, b = _request(result, "A"), _request(result, "B")
    assert not _overlap(a, b)
    assert a.data["Met"] == "false" and b.data["Met"] == "true"  # A ran alone, B after it


def test_a_failure_lets_the_resources_in_flight_finish_starts_nothing_new_and_rolls_all_back(
    tmp_path, sandbox
):
    """A fails while B runs. B is let finish (it waits for the driver's line saying it stops
    starting resources), C (after B) is never started, then B, A and the Amplify app and branch
    created alongside are deleted: nothing is left."""
    go = tmp_path / "go"
    app = _app(
        tmp_path,
        {
            "A": _custom({"Fail": "true"}),
            "B": _custom({"WaitFor": str(go)}),
            "C": _custom({"After": {"Ref": "B"}}),
        },
        with_amplify=True,
    )
    lines: list[str] = []

    def log(line):
        lines.append(line)
        if "A failed; starting nothing new" in line:
            go.touch()

    result = LocalStack(app, sandbox, log=log).deploy()
    stack = result.stack(STACK)
    assert not result.ok and stack.status == "ROLLBACK_COMPLETE"
    assert stack.reason == "A: told to fail"
    assert any("waiting for the resources in progress (B) before rolling back" in line for line in lines)
    a, b = _request(result, "A"), _request(result, "B")
    assert a.status == "FAILED" and b.status == "SUCCESS" and b.data["Met"] == "true"
    assert not [r for r in result.requests if r.logical_id == "C"]  # never started
    events = {(e.logical_id, e.status): e.timestamp for e in stack.events}
    assert events[("A", "CREATE_FAILED")] <= b.ended_at  # B was in flight when A failed
    # rolled back after B finished: the failed A and the finished B get a Delete, the branch and app go
    deletes = [r for r in result.requests if r.request_type == "Delete"]
    assert {r.logical_id for r in deletes} == {"A", "B"} and all(r.rollback for r in deletes)
    assert min(r.sent_at for r in deletes) >= b.ended_at
    assert ("Branch", "DELETE_COMPLETE") in events and ("App", "DELETE_COMPLETE") in events
    assert events[("Branch", "DELETE_COMPLETE")] <= events[("App", "DELETE_COMPLETE")]
    app_id = next(
        e.physical_id for e in stack.events if (e.logical_id, e.status) == ("App", "CREATE_COMPLETE")
    )
    with pytest.raises(Exception, match="NotFoundException"):
        sandbox.client("amplify").get_app(appId=app_id)
    assert not (app / ".amplify-sandbox" / "stacks" / f"{STACK}.json").exists()


def test_a_function_that_never_answers_holds_the_resource_for_the_capped_service_timeout(tmp_path, sandbox):
    app = _app(tmp_path, {"Silent": _custom({"NoAnswer": "true"})})
    lines: list[str] = []
    result = LocalStack(app, sandbox, log=lines.append, service_timeout_cap=1).deploy()
    stack = result.stack(STACK)
    assert not result.ok and stack.status == "ROLLBACK_COMPLETE"
    create = _request(result, "Silent")
    assert create.status == "FAILED"
    assert create.reason.startswith(
        "No response from the custom resource handler within its ServiceTimeout (3600 s): "
    )
    waiting = [i for i, line in enumerate(lines) if "ended without answering; waiting" in line]
    assert len(waiting) == 1, lines  # said once
    assert "waiting 1 s for an answer" in lines[waiting[0]]
    assert (
        "ServiceTimeout (3600 s since the request was sent; the local wait is capped at 1 s"
        in (lines[waiting[0]])
    )
    failed_line = next(i for i, line in enumerate(lines) if "Silent (Custom::Conc) CREATE_FAILED" in line)
    assert waiting[0] < failed_line  # the wait comes before the failure
    assert [r.request_type for r in result.requests] == ["Create", "Delete"]  # rolled back


def test_the_resources_service_timeout_bounds_the_wait(tmp_path, sandbox, monkeypatch):
    monkeypatch.delenv("AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP")  # no cap: the property alone
    app = _app(tmp_path, {"Silent": _custom({"NoAnswer": "true", "ServiceTimeout": 2})})
    lines: list[str] = []
    result = LocalStack(app, sandbox, log=lines.append).deploy()
    assert not result.ok
    create = _request(result, "Silent")
    assert "within its ServiceTimeout (2 s)" in create.reason
    said = [line for line in lines if "ended without answering" in line]
    assert len(said) == 1
    assert "(2 s since the request was sent)" in said[0] or "not waiting (ServiceTimeout 2 s)" in said[0]


@pytest.mark.parametrize("value", [0, 3601, "ten"])
def test_a_service_timeout_cloudformation_refuses_fails_before_any_request(tmp_path, sandbox, value):
    app = _app(tmp_path, {"Bad": _custom({"ServiceTimeout": value})})
    result = LocalStack(app, sandbox, log=lambda _l: None).deploy()
    stack = result.stack(STACK)
    assert not result.ok and stack.status == "ROLLBACK_COMPLETE"
    assert "ServiceTimeout" in stack.reason and "integer from 1 to 3600" in stack.reason
    assert result.requests == []


def test_ctrl_c_kills_the_running_functions_and_keeps_what_completed(tmp_path, sandbox):
    """SIGINT while A's function runs (it would wait 30 s for a file that never comes): the function is
    killed, deploy() raises KeyboardInterrupt, what completed is recorded, and the next run goes on."""
    app = _app(tmp_path, {"A": _custom({"WaitFor": str(tmp_path / "never"), "WaitLimit": "30"})})
    lines: list[str] = []

    def log(line):
        lines.append(line)
        if line.startswith("    A λ | START RequestId"):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C, to the main thread

    # A shell without job control starts background jobs with SIGINT ignored, and Python then keeps
    # it ignored (a test run started with `nohup ... &` met that): Ctrl-C's own handler, for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = LocalStack(app, sandbox, log=log).deploy()
    except KeyboardInterrupt:
        pass
    else:  # say what happened instead
        reasons = [result.error, *(s.reason for s in result.stacks)]
        pytest.fail(f"no KeyboardInterrupt: {reasons}, last lines {lines[-15:]}")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not any("conc: Create A" in line for line in lines)  # killed before it could answer
    state = json.loads((app / ".amplify-sandbox" / "stacks" / f"{STACK}.json").read_text())
    assert "Fn" in state["resources"] and "A" not in state["resources"]

    (app / "assembly" / f"{STACK}.template.json").write_text(
        json.dumps(json.loads((app / "assembly" / f"{STACK}.template.json").read_text())).replace(
            str(tmp_path / "never"), ""
        )
    )
    again = LocalStack(app, sandbox, log=lambda _l: None).deploy()
    assert again.ok, again.stacks[0].reason
    assert [(r.logical_id, r.request_type) for r in again.requests] == [("A", "Create")]
