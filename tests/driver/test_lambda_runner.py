"""The local Lambda runner: what the function can import, its environment and context, and how it dies."""

import json
import textwrap

import pytest

from amplify_sandbox.driver.lambda_runner import LambdaFunction, invoke, lambda_environment, runtime_dir


@pytest.fixture(scope="module")
def deps(tmp_path_factory):
    return runtime_dir(tmp_path_factory.mktemp("lambda-runtime"))


def _function(tmp_path, code, **kwargs):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "index.py").write_text(textwrap.dedent(code))
    fields = {
        "logical_id": "Fn",
        "function_name": "stack-Fn-ABC",
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:stack-Fn-ABC",
        "handler": "index.handler",
        "runtime": "python3.12",
        "code_dir": code_dir,
        "timeout": 30,
        "memory_size": 256,
        "environment": {"MY_VAR": "my value"},
    }
    fields.update(kwargs)
    return LambdaFunction(**fields)


def _run(fn, deps, event=None, extra_env=None):
    env = lambda_environment(
        fn,
        region="us-east-1",
        sandbox_env=extra_env or {"AWS_ENDPOINT_URL_AMPLIFY": "http://127.0.0.1:1"},
        ca_file=None,
        log_group="/aws/lambda/x",
        log_stream="s",
    )
    lines = []
    result = invoke(fn, event or {"hello": "world"}, env=env, deps_dir=deps, on_line=lines.append)
    return result, lines


def test_environment_context_and_imports_are_lambdas(tmp_path, deps, monkeypatch):
    monkeypatch.setenv("DRIVER_SECRET_SHOULD_NOT_LEAK", "x")
    fn = _function(
        tmp_path,
        """
        import json, os, sys

        def _can(name):
            try:
                __import__(name)
                return True
            except ImportError:
                return False

        def handler(event, context):
            print("RESULT " + json.dumps({
                "event": event,
                "env": {k: os.environ.get(k) for k in ["MY_VAR", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_ENDPOINT_URL_AMPLIFY", "AWS_ACCESS_KEY_ID",
                        "DRIVER_SECRET_SHOULD_NOT_LEAK", "_HANDLER"]},
                "function_name": context.function_name,
                "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb,
                "request_id": context.aws_request_id,
                "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 30000,
                "boto3": _can("boto3"), "crhelper": _can("crhelper"), "moto": _can("moto"),
                "cryptography": _can("cryptography"), "pytest": _can("pytest"),
                "cwd": os.getcwd(), "path0": sys.path[0],
            }))
        """,
    )
    result, lines = _run(fn, deps)
    assert result.exit_code == 0 and not result.errored, lines
    (payload,) = [json.loads(line[len("RESULT ") :]) for line in lines if line.startswith("RESULT ")]
    assert payload["event"] == {"hello": "world"}
    assert payload["env"] == {
        "MY_VAR": "my value",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "stack-Fn-ABC",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_ENDPOINT_URL_AMPLIFY": "http://127.0.0.1:1",
        "AWS_ACCESS_KEY_ID": "testing",
        "DRIVER_SECRET_SHOULD_NOT_LEAK": None,
        "_HANDLER": "index.handler",
    }
    assert payload["function_name"] == "stack-Fn-ABC"
    assert payload["arn"].endswith(":function:stack-Fn-ABC")
    assert payload["memory"] == "256"  # a string, as on Lambda
    assert payload["request_id"] == result.request_id
    assert payload["remaining_ok"] is True
    assert (
        payload["boto3"],
        payload["crhelper"],
        payload["moto"],
        payload["cryptography"],
        payload["pytest"],
    ) == (True, False, False, False, False)
    assert payload["path0"] == str(fn.code_dir) == payload["cwd"]
    assert lines[0].startswith("START RequestId: ") and any(
        line.startswith("REPORT RequestId: ") for line in lines
    )


def test_a_package_missing_from_the_bundle_fails_as_on_lambda(tmp_path, deps):
    fn = _function(
        tmp_path,
        """
        from crhelper import CfnResource
        helper = CfnResource()
        def handler(event, context):
            helper(event, context)
        """,
    )
    result, lines = _run(fn, deps)
    assert result.errored and result.exit_code == 2
    assert (
        result.error
        == "Runtime.ImportModuleError: Unable to import module 'index': No module named 'crhelper'"
    )
    assert any("Runtime.ImportModuleError" in line for line in lines)


def test_a_handler_exception_is_a_function_error(tmp_path, deps):
    fn = _function(
        tmp_path,
        """
        def handler(event, context):
            raise ValueError("bad input")
        """,
    )
    result, lines = _run(fn, deps)
    assert result.exit_code == 1
    assert result.error == "ValueError: bad input"
    assert any('"errorType": "ValueError"' in line for line in lines)


def test_a_missing_handler_function(tmp_path, deps):
    fn = _function(tmp_path, "x = 1\n")
    result, _ = _run(fn, deps)
    assert result.error == "Runtime.HandlerNotFound: Handler 'handler' missing on module 'index'"


def test_the_function_is_killed_at_its_timeout(tmp_path, deps):
    fn = _function(
        tmp_path,
        """
        import time
        def handler(event, context):
            print("sleeping")
            time.sleep(60)
            print("never printed")
        """,
        timeout=1,
    )
    result, lines = _run(fn, deps)
    assert result.timed_out and result.errored
    assert result.error == "Task timed out after 1.00 seconds"
    assert "never printed" not in lines
    assert any("Task timed out after 1.00 seconds" in line for line in lines)


def test_the_function_is_killed_over_its_memory_size(tmp_path, deps):
    fn = _function(
        tmp_path,
        """
        import time
        def handler(event, context):
            hog = bytearray(300 * 1024 * 1024)
            for i in range(0, len(hog), 4096):
                hog[i] = 1
            time.sleep(30)
        """,
        memory_size=128,
    )
    result, _ = _run(fn, deps)
    assert result.out_of_memory and not result.timed_out
    assert "signal: killed" in result.error and "MemorySize 128 MB" in result.error


def test_runtime_dir_is_safe_when_invocations_start_at_once(tmp_path):
    """Several invocations building the runtime folder at the same moment all get a correct one."""
    import concurrent.futures

    from amplify_sandbox.driver import lambda_runner

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: lambda_runner.runtime_dir(tmp_path), range(16)))
    assert len(set(dirs)) == 1
    names = sorted(p.name for p in dirs[0].iterdir())
    assert "boto3" in names and "botocore" in names
    assert not [n for n in names if n.startswith(".")]  # no temporary link left behind
    assert (dirs[0] / "boto3" / "__init__.py").is_file()
