"""Conformance with another client we did not write: the AWS CLI v1 (pinned in requirements-dev.txt; it
carries its own copy of botocore, not the one the handler uses). The README's "With the AWS CLI" blocks
are run as written: ``amplify-sandbox emulator`` in a process of its own, then the shell block with
``bash -euo pipefail`` (only the ports are changed, to free ones). What they deployed is then read back
with boto3 and fetched from the live site, byte for byte.

Also the one place where the CLI differs from boto3: with ``cli_follow_urlparam`` on (v1's default),
``--source-url http://...`` is fetched by the CLI to be sent as the value; a zip is no text, so the CLI
fails before any call (and prints the presigned URL in its error).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from ._helpers import make_zip

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITE = {"index.html": "<h1>from the AWS CLI</h1>", "css/site.css": "body{color:teal}"}


def readme_blocks() -> tuple[str, str]:
    """The README's two shell blocks after "With the AWS CLI": the emulator's command, the session."""
    text = (ROOT / "README.md").read_text()
    part = text[text.index("With the AWS CLI") :]
    blocks = re.findall(r"^  ```bash\n(.*?)^  ```$", part, re.S | re.M)
    assert len(blocks) >= 2, "the README's AWS CLI section has lost its two bash blocks"
    return textwrap.dedent(blocks[0]), textwrap.dedent(blocks[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(tmp_path: Path) -> dict[str, str]:
    """A shell as a user has it: the project's tools on PATH, no AWS settings but the block's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
    )
    return env


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The README's emulator command, on free ports; its two printed endpoints read before going on."""
    command, _ = readme_blocks()
    ports = free_port(), free_port()
    command = command.replace("4566", str(ports[0])).replace("4567", str(ports[1]))
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command.strip()}"],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
        assert lines == [
            f"AWS_ENDPOINT_URL_AMPLIFY=http://127.0.0.1:{ports[0]}",
            f"AWS_ENDPOINT_URL_S3=http://127.0.0.1:{ports[1]}",
        ], lines + [proc.stderr.read() if proc.poll() is not None and proc.stderr else ""]
        yield ports
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def amplify(port: int) -> Any:
    return boto3.client(
        "amplify",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def wait_for(client: Any, app_id: str, job_id: str) -> str:
    for _ in range(200):
        status = str(
            client.get_job(appId=app_id, branchName="main", jobId=job_id)["job"]["summary"]["status"]
        )
        if status not in ("PENDING", "PROVISIONING", "RUNNING"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def test_the_readme_session_with_the_aws_cli_deploys_by_upload_and_by_source_url(
    tmp_path: Path, emulator: tuple[int, int]
) -> None:
    (tmp_path / "site.zip").write_bytes(make_zip(SITE))
    _, session = readme_blocks()
    session = session.replace("4566", str(emulator[0])).replace("4567", str(emulator[1]))
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", session],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert '"apps": []' in run.stdout  # list-apps on a fresh emulator: the first command users type
    assert '"url": "http://127.0.0.1:' in run.stdout  # the site-url line

    client = amplify(emulator[0])
    (app,) = client.list_apps()["apps"]
    assert app["name"] == "demo"
    jobs = client.list_jobs(appId=app["appId"], branchName="main")["jobSummaries"]
    assert [j["jobId"] for j in jobs] == ["2", "1"]
    assert "sourceUrl" not in jobs[1] and jobs[0]["sourceUrl"].startswith(
        f"http://127.0.0.1:{emulator[1]}/site/"
    )
    assert wait_for(client, app["appId"], "1") == "SUCCEED"
    assert wait_for(client, app["appId"], "2") == "SUCCEED"
    site = urllib.request.urlopen(
        f"http://127.0.0.1:{emulator[0]}/_sandbox/site-url?app={app['appId']}&branch=main", timeout=10
    ).read()
    url = re.search(rb'"url": "([^"]+)"', site)
    assert url, site
    for name, body in SITE.items():
        with urllib.request.urlopen(url.group(1).decode() + name, timeout=10) as resp:
            assert resp.read() == body.encode()


def test_the_cli_v1_default_fetches_a_source_url_itself_and_fails_before_calling_amplify(
    tmp_path: Path, emulator: tuple[int, int]
) -> None:
    """Without ``aws configure set cli_follow_urlparam false``: the README's warning, shown."""
    (tmp_path / "site.zip").write_bytes(make_zip(SITE))
    client = amplify(emulator[0])
    app_id = client.create_app(name="follow")["app"]["appId"]
    client.create_branch(appId=app_id, branchName="main")
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{emulator[1]}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="site.zip", Body=(tmp_path / "site.zip").read_bytes())
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "site", "Key": "site.zip"})
    env = cli_env(tmp_path) | {
        "AWS_ENDPOINT_URL_AMPLIFY": f"http://127.0.0.1:{emulator[0]}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    run = subprocess.run(
        ["aws", "amplify", "start-deployment", "--app-id", app_id, "--branch-name", "main"]
        + ["--source-url", url, "--source-url-type", "ZIP"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 255, run.stdout
    # it fetched the zip to send as the value, and cannot make a string of it: no call to Amplify
    assert run.stderr.startswith("\nError parsing parameter '--source-url': Unable to retrieve http"), (
        run.stderr
    )
    assert "codec can't decode" in run.stderr
    assert client.list_jobs(appId=app_id, branchName="main")["jobSummaries"] == []
