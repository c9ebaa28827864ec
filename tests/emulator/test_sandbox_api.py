"""The Sandbox Python API and the pytest fixtures of amplify_sandbox.pytest_plugin."""

from __future__ import annotations

import subprocess
import sys

from amplify_sandbox import Sandbox


def test_sandbox_endpoints_env_and_clients(sandbox: Sandbox) -> None:
    env = sandbox.env()
    assert env["AWS_ENDPOINT_URL_AMPLIFY"] == sandbox.amplify_endpoint.rstrip("/")
    assert env["AWS_ENDPOINT_URL_S3"] == sandbox.s3_endpoint
    assert sandbox.amplify_endpoint.startswith("http://127.0.0.1:")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"} <= set(env)
    s3 = sandbox.client("s3")
    s3.create_bucket(Bucket="site-assets")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["site-assets"]
    app = sandbox.client("amplify").create_app(name="fixture")["app"]
    assert sandbox.emulator.backend.apps[app["appId"]].name == "fixture"


def test_sandbox_fixture_resets_emulator_and_moto(sandbox: Sandbox) -> None:
    assert sandbox.emulator.backend.apps == {}
    assert sandbox.client("s3").list_buckets()["Buckets"] == []
    assert sandbox.emulator.counters["requests_total"] == 0


def test_a_subprocess_uses_the_sandbox_through_env_vars(sandbox: Sandbox) -> None:
    """A client knowing only AWS_ENDPOINT_URL_AMPLIFY (a handler in a subprocess) works unchanged."""
    code = (
        "import boto3; c = boto3.client('amplify'); "
        "a = c.create_app(name='from-env')['app']['appId']; c.create_branch(appId=a, branchName='main'); "
        "print(c.create_deployment(appId=a, branchName='main')['jobId'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=sandbox.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "1"
    assert [a.name for a in sandbox.emulator.backend.apps.values()] == ["from-env"]
