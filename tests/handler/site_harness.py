"""The handler's in-process test harness, shared by tests/handler and tests/reliability: a `Site` (an
Amplify app + branch in the emulator and a bucket in moto) whose `invoke` calls the handler as Lambda
does and reads the response from a local HTTPS ResponseURL receiver, and the fixtures it needs.
A conftest imports the fixtures (`receiver`, `handler_env`) and builds its `site` with `new_site`.
The receiver is the driver's (amplify_sandbox.driver.receiver); the handler trusts its CA through
SSL_CERT_FILE, as the local Lambda runtime does."""

from __future__ import annotations

import dataclasses
import logging
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from handler_support import RESPONSE_PATH, answers, cfn_event, context, make_zip, the_answer

from amplify_sandbox.driver.receiver import ResponseReceiver


@pytest.fixture(scope="session")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResponseReceiver]:
    with ResponseReceiver(tmp_path_factory.mktemp("tls"), bucket=RESPONSE_PATH.strip("/")) as r:
        yield r


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclasses.dataclass
class Site:
    sb: Any
    receiver: ResponseReceiver
    app_id: str
    branch: str
    bucket: str
    records: list[logging.LogRecord] = dataclasses.field(default_factory=list)

    @property
    def amplify(self) -> Any:
        return self.sb.client("amplify")

    @property
    def s3(self) -> Any:
        return self.sb.client("s3")

    def put_zip(self, files: Mapping[str, bytes | str], **kw: Any) -> str:
        return self.put_bytes(make_zip(files, **kw))

    def put_bytes(self, data: bytes) -> str:
        key = f"assets/{uuid.uuid4().hex}.zip"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return key

    def source(
        self, key: str, markers: Mapping[str, str] | None = None, json_escape: bool = False
    ) -> dict[str, Any]:
        src: dict[str, Any] = {"BucketName": self.bucket, "ObjectKey": key}
        if markers:
            src["Markers"] = dict(markers)
        if json_escape:
            src["MarkersConfig"] = {"JsonEscape": "true"}
        return src

    def props(self, *sources: dict[str, Any], mode: str = "ZIP", **over: Any) -> dict[str, Any]:
        props = {
            "AppId": self.app_id,
            "BranchName": self.branch,
            "UploadMode": mode,
            "Sources": list(sources),
        }
        props.update(over)
        return props

    def event(self, request_type: str, props: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
        return cfn_event(request_type, props, self.receiver, **kw)

    def deliver(self, event: dict[str, Any], seconds: float = 120.0) -> None:
        """One delivery of `event` to the handler, as Lambda calls it; logs are captured."""
        from amplify_deployment_handler import index

        capture = Capture()
        root = logging.getLogger()
        level = root.level
        root.addHandler(capture)
        root.setLevel(logging.DEBUG)  # the handler must quiet crhelper's DEBUG logging itself
        try:
            index.handler(event, context(seconds))
        finally:
            root.removeHandler(capture)
            root.setLevel(level)
        self.records.extend(capture.records)

    def responses(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        return answers(self.receiver, event)

    def invoke(
        self,
        request_type: str,
        props: Mapping[str, Any],
        physical_id: str | None = None,
        old_props: Mapping[str, Any] | None = None,
        seconds: float = 120.0,
    ) -> dict[str, Any]:
        event = self.event(request_type, props, physical_id=physical_id, old_props=old_props)
        self.deliver(event, seconds)
        return the_answer(self.receiver, event)

    @property
    def log_text(self) -> str:
        fmt = logging.Formatter("%(levelname)s %(name)s %(message)s")
        return "\n".join(fmt.format(r) for r in self.records)

    def fetch(self, path: str) -> tuple[int, bytes]:
        url = self.sb.emulator.site_url(self.app_id, self.branch) + path.lstrip("/")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, b""

    def jobs(self) -> list[dict[str, Any]]:
        return self.amplify.list_jobs(appId=self.app_id, branchName=self.branch)["jobSummaries"]

    def job(self, job_id: str) -> dict[str, Any]:
        return self.amplify.get_job(appId=self.app_id, branchName=self.branch, jobId=job_id)["job"]

    def deploy_live(self, files: Mapping[str, bytes | str]) -> dict[str, Any]:
        """Create the resource with `files`: the live site the bad cases must not touch."""
        resp = self.invoke("Create", self.props(self.source(self.put_zip(files))))
        assert resp["Status"] == "SUCCESS", resp["Reason"]
        return resp


@pytest.fixture
def handler_env(
    sandbox: Any, receiver: ResponseReceiver, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., None]:
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SSL_CERT_FILE", str(receiver.ca_file))
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def new_site(sandbox: Any, receiver: ResponseReceiver, *, app_name: str, branch: str, bucket: str) -> Site:
    amplify = sandbox.client("amplify")
    app_id = amplify.create_app(name=app_name)["app"]["appId"]
    amplify.create_branch(appId=app_id, branchName=branch)
    sandbox.client("s3").create_bucket(Bucket=bucket)
    return Site(sandbox, receiver, app_id, branch, bucket)
