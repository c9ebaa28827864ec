"""The handler run as Lambda runs it, in its own process: the driver's local Lambda runtime
(amplify_sandbox.driver.lambda_runner: isolated interpreter, Lambda's environment, killed at its
timeout) on a code folder laid out like the construct's asset (amplify_deployment_handler/ +
crhelper/), answering to the driver's HTTPS ResponseURL receiver. Several can run at once (crhelper
keeps per-process state, so concurrent invocations need separate processes, as on Lambda)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_sandbox.driver import lambda_runner
from amplify_sandbox.driver.receiver import ResponseReceiver
from amplify_sandbox.lambda_env import custom_resource_event, function_arn, stack_id

REPO = Path(__file__).resolve().parents[2]
STACK_ID = stack_id("reliability", unique="00000000-0000-4000-8000-000000000001")
ARN = function_arn("amplify-deployment")


def asset_dir(base: Path) -> Path:
    asset = base / "asset"
    shutil.copytree(
        REPO / "lambda" / "amplify_deployment_handler",
        asset / "amplify_deployment_handler",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    crhelper = Path(importlib.util.find_spec("crhelper").origin).parent  # type: ignore[union-attr, arg-type]
    shutil.copytree(crhelper, asset / "crhelper", ignore=shutil.ignore_patterns("__pycache__"))
    return asset


@dataclass
class LambdaHost:
    base: Path
    receiver: ResponseReceiver
    code: Path
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # made once, up front: runtime_dir() is not safe to call from several threads at once
        self.deps = lambda_runner.runtime_dir(self.base / "runtime")

    def event(
        self, request_type: str, props: dict[str, Any], logical_id: str = "Site", **extra: Any
    ) -> dict[str, Any]:
        """A Create/Update/Delete for ``logical_id``; ``extra`` keys (PhysicalResourceId,
        OldResourceProperties...) are set on the event as given."""
        request_id = str(uuid.uuid4())
        event = custom_resource_event(
            request_type,
            props,
            response_url=self.receiver.new_url(STACK_ID, logical_id, request_id),
            stack_id=STACK_ID,
            logical_id=logical_id,
            service_token=ARN,
            request_id=request_id,
        )
        event.update(extra)
        return event

    def invoke(
        self,
        sb: Any,
        event: dict[str, Any],
        timeout: int = 120,
        function_timeout_env: int | None = None,
    ) -> lambda_runner.Invocation:
        fn = lambda_runner.LambdaFunction(
            logical_id=event["LogicalResourceId"],
            function_name="amplify-deployment",
            arn=ARN,
            handler="amplify_deployment_handler.index.handler",
            runtime="python3.14",
            code_dir=self.code,
            timeout=timeout,
            memory_size=512,
            environment={"AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT": str(function_timeout_env or timeout)},
            max_retries=0,
        )
        env = lambda_runner.lambda_environment(
            fn,
            region="us-east-1",
            sandbox_env=sb.env(),
            ca_file=self.receiver.ca_file,
            log_group="/aws/lambda/amplify-deployment",
            log_stream=uuid.uuid4().hex,
        )
        tmp = self.base / "tmp" / uuid.uuid4().hex
        tmp.mkdir(parents=True)
        env["TMPDIR"] = str(tmp)
        return lambda_runner.invoke(fn, event, env=env, deps_dir=self.deps, on_line=self.lines.append)

    def response(self, event: dict[str, Any]) -> Any:
        return self.receiver.response_for(event["ResponseURL"])


def kill_function_processes() -> int:
    """SIGKILL the process group of every local Lambda process this test process started (the
    runner starts each in its own session); returns how many were killed."""
    killed = 0
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and b"lambda_bootstrap" in cmdline:
            os.killpg(int(entry), signal.SIGKILL)
            killed += 1
    return killed
