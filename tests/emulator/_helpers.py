"""Helpers of the Amplify emulator tests: real boto3 and http.client over loopback HTTP."""

from __future__ import annotations

import hashlib
import http.client
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from amplify_sandbox import AmplifyEmulator, FakeClock

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30, connect_timeout=5)


def amplify_client(endpoint: str, region: str = "eu-west-1", **config: Any) -> Any:
    return boto3.client(
        "amplify",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRY.merge(Config(**config)) if config else NO_RETRY,
    )


@dataclass
class Emu:
    emulator: AmplifyEmulator
    clock: FakeClock
    client: Any

    def app_branch(self, branch: str = "main", **app_kwargs: Any) -> tuple[str, str]:
        app_id = self.client.create_app(name="site", **app_kwargs)["app"]["appId"]
        self.client.create_branch(appId=app_id, branchName=branch)
        return app_id, branch

    def finish_jobs(self) -> None:
        """Move the fake clock past any job's duration."""
        self.clock.advance(self.emulator.knobs.job_duration + 1)

    def job(self, app_id: str, branch: str, job_id: str) -> dict[str, Any]:
        return self.client.get_job(appId=app_id, branchName=branch, jobId=job_id)["job"]

    def deploy_zip(self, app_id: str, branch: str, files: dict[str, bytes | str], finish: bool = True) -> str:
        dep = self.client.create_deployment(appId=app_id, branchName=branch)
        status, body = put(dep["zipUploadUrl"], make_zip(files))
        assert status == 200, body
        self.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
        if finish:
            self.finish_jobs()
        return str(dep["jobId"])

    def deploy_files(self, app_id: str, branch: str, files: dict[str, bytes], finish: bool = True) -> str:
        file_map = {name: md5(body) for name, body in files.items()}
        dep = self.client.create_deployment(appId=app_id, branchName=branch, fileMap=file_map)
        assert set(dep["fileUploadUrls"]) == set(files)
        for name, url in dep["fileUploadUrls"].items():
            status, body = put(url, files[name])
            assert status == 200, body
        self.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
        if finish:
            self.finish_jobs()
        return str(dep["jobId"])


def wait_while_provisioning(client: Any, app_id: str, branch: str, job_id: str) -> dict[str, Any]:
    """GetJob until the job is past PROVISIONING (its sourceUrl downloaded in the emulator's thread)."""
    for _ in range(3000):
        job: dict[str, Any] = client.get_job(appId=app_id, branchName=branch, jobId=job_id)["job"]
        if job["summary"]["status"] != "PROVISIONING":
            return job
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} still PROVISIONING")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def make_zip(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def put(
    url: str,
    body: bytes | IO[bytes],
    length: int | None = None,
    conn: http.client.HTTPConnection | None = None,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """PUT a body (bytes or a file streamed by http.client) to a presigned-style URL."""
    parts = urlsplit(url)
    own = conn is None
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    size = len(body) if isinstance(body, bytes) else length
    conn.request("PUT", f"{parts.path}?{parts.query}", body=body, headers={"Content-Length": str(size)})
    resp = conn.getresponse()
    data = resp.read()
    if own:
        conn.close()
    return resp.status, data


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""))
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def write_zip_file(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(make_zip(files))
    return path
