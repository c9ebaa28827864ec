"""Fixtures of the handler's tests. Integration tests use the project's sandbox (fixture `sandbox`:
the Amplify emulator + moto S3 on 127.0.0.1) and a local HTTPS receiver for CloudFormation responses."""

from __future__ import annotations

import logging
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (REPO / "lambda", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from handler_support import FakeContext, Receiver, cfn_event, make_zip, self_signed_cert  # noqa: E402


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def receiver(cert_files: tuple[Path, Path]) -> Iterator[Receiver]:
    r = Receiver(*cert_files)
    yield r
    r.close()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Site:
    """One Amplify app + branch in the emulator, a bucket in moto, and ways to invoke the handler."""

    sb: Any
    receiver: Receiver
    app_id: str
    branch: str
    bucket: str
    records: list[logging.LogRecord] = field(default_factory=list)

    @property
    def amplify(self) -> Any:
        return self.sb.client("amplify")

    @property
    def s3(self) -> Any:
        return self.sb.client("s3")

    def put_zip(self, files: Mapping[str, bytes | str], **kw: Any) -> str:
        key = f"assets/{uuid.uuid4().hex}.zip"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=make_zip(files, **kw))
        return key

    def put_bytes(self, data: bytes) -> str:
        key = f"assets/{uuid.uuid4().hex}.zip"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key

    def source(self, key: str, markers: Mapping[str, str] | None = None, json_escape: bool = False) -> dict:
        src: dict[str, Any] = {"BucketName": self.bucket, "ObjectKey": key}
        if markers:
            src["Markers"] = dict(markers)
        if json_escape:
            src["MarkersConfig"] = {"JsonEscape": "true"}
        return src

    def props(self, *sources: dict, mode: str = "ZIP") -> dict[str, Any]:
        return {"AppId": self.app_id, "BranchName": self.branch, "UploadMode": mode, "Sources": list(sources)}

    def invoke(
        self,
        request_type: str,
        props: Mapping[str, Any],
        physical_id: str | None = None,
        old_props: Mapping[str, Any] | None = None,
        seconds: float = 120.0,
    ) -> dict[str, Any]:
        from amplify_deployment_handler import index

        event = cfn_event(request_type, props, self.receiver, physical_id, old_props)
        capture = _Capture()
        root = logging.getLogger()
        level = root.level
        root.addHandler(capture)
        root.setLevel(logging.DEBUG)  # the handler must quiet crhelper's DEBUG logging itself
        try:
            index.handler(event, FakeContext(seconds))
        finally:
            root.removeHandler(capture)
            root.setLevel(level)
        self.records.extend(capture.records)
        return self.receiver.response(event["RequestId"])

    @property
    def log_text(self) -> str:
        """Everything the handler logged during this test's invocations (messages and tracebacks)."""
        fmt = logging.Formatter("%(levelname)s %(name)s %(message)s")
        return "\n".join(fmt.format(r) for r in self.records)

    def fetch(self, path: str) -> tuple[int, bytes]:
        url = self.sb.emulator.site_url(self.app_id, self.branch) + path.lstrip("/")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, b""

    def job(self, job_id: str) -> dict[str, Any]:
        return self.amplify.get_job(appId=self.app_id, branchName=self.branch, jobId=job_id)["job"]


@pytest.fixture
def handler_env(
    sandbox: Any, cert_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., None]:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_files[0]))
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture
def site(sandbox: Any, receiver: Receiver, handler_env: Callable[..., None]) -> Site:
    amplify = sandbox.client("amplify")
    app_id = amplify.create_app(name="handler-test")["app"]["appId"]
    branch = "feature/site"
    amplify.create_branch(appId=app_id, branchName=branch)
    bucket = "cdk-assets-test"
    sandbox.client("s3").create_bucket(Bucket=bucket)
    return Site(sandbox, receiver, app_id, branch, bucket)
