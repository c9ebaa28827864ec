"""The Sandbox: the Amplify emulator plus a moto S3 server, with env vars and boto3 clients for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..s3server import S3Server
from .clock import Clock
from .server import AmplifyEmulator

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class Sandbox:
    """``with Sandbox() as sb:`` starts the Amplify emulator and a moto S3 server on 127.0.0.1.

    ``state_dir``: the emulator persists its state there (moto's S3 state is not persisted).
    """

    def __init__(
        self,
        state_dir: str | Path | None = None,
        *,
        amplify_port: int = 0,
        s3_port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.emulator = AmplifyEmulator(port=amplify_port, state_dir=state_dir, clock=clock)
        self.s3 = S3Server(port=s3_port)

    def start(self) -> Sandbox:
        self.emulator.start()
        try:
            self.s3.start()
        except BaseException:
            self.emulator.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.s3.stop()
        finally:
            self.emulator.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def amplify_endpoint(self) -> str:
        return self.emulator.endpoint

    @property
    def s3_endpoint(self) -> str:
        return self.s3.endpoint

    def env(self) -> dict[str, str]:
        """Environment for a process that should use the sandbox: endpoints, fake credentials, region."""
        return {
            "AWS_ENDPOINT_URL_AMPLIFY": self.amplify_endpoint,
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint,
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        """A real boto3 client bound to the sandbox ("amplify" or "s3"; other services go to moto)."""
        import boto3
        from botocore.config import Config

        endpoint = self.amplify_endpoint if service == "amplify" else self.s3_endpoint
        if service == "s3" and "config" not in kwargs:
            kwargs["config"] = Config(s3={"addressing_style": "path"})
        kwargs.setdefault("region_name", REGION)
        kwargs.setdefault("endpoint_url", endpoint)
        kwargs.setdefault("aws_access_key_id", FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"])
        kwargs.setdefault("aws_secret_access_key", FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        kwargs.setdefault("aws_session_token", FAKE_CREDENTIALS["AWS_SESSION_TOKEN"])
        return boto3.client(service, **kwargs)

    def reset(self) -> None:
        """Fresh state: the emulator (apps, jobs, knobs, counters) and moto."""
        self.emulator.reset()
        self.s3.reset()
