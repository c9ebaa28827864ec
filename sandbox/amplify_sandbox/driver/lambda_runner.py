"""Run a Python Lambda function locally, the way Lambda would, in a subprocess.

- Code: the function's code folder (its synthesized asset, copied to the driver's state).
- Python: the current interpreter started with ``-I -S`` and ``lambda_bootstrap.py``: sys.path is
  ``[code folder, runtime folder] + stdlib`` where the runtime folder holds only boto3, botocore,
  s3transfer, jmespath, dateutil, urllib3 and six (symlinks into this environment's site-packages) -
  what the Lambda Python runtime provides. A package the code asset forgot to bundle (crhelper) fails
  to import, as on Lambda.
- Environment: built from scratch (nothing leaks from the driver's environment): the function's
  ``Environment.Variables``, Lambda's reserved variables (AWS_LAMBDA_FUNCTION_NAME, AWS_REGION, ...),
  the sandbox's endpoints and fake credentials, ``SSL_CERT_FILE`` (the local CloudFormation CA).
- Timeout: the process is killed when ``Timeout`` seconds have passed since it started
  ("Task timed out after N seconds"), and ``context.get_remaining_time_in_millis()`` counts down to it.
- Memory: the process's resident set size (VmRSS, read from /proc every 50 ms) is watched and the process
  is killed when it exceeds ``MemorySize`` MB ("Runtime exited with error: signal: killed"). Sampling can
  miss a short spike; an rlimit on address space was rejected because Python's virtual size is far
  above its resident size and would kill healthy functions.
- Output: every line the function prints or logs is passed to a callback (the driver prefixes and
  streams it); the caller redacts secrets (ResponseURL).
- Cancel: several functions run at once (one per resource in flight, each from its own thread);
  setting the ``cancel`` event (Ctrl-C in the driver) kills a running one and raises
  :class:`Cancelled` from :func:`invoke`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_sandbox import lambda_env
from amplify_sandbox.lambda_env import LambdaContext

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128


class Cancelled(Exception):
    """The run was interrupted: the invocation was killed (its process group is gone)."""


@dataclass
class LambdaFunction:
    logical_id: str
    function_name: str
    arn: str
    handler: str
    runtime: str
    code_dir: Path
    timeout: int = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY
    environment: dict[str, str] = field(default_factory=dict)
    max_retries: int = 2  # asynchronous invocation retries (EventInvokeConfig MaximumRetryAttempts)


@dataclass
class Invocation:
    request_id: str
    exit_code: int | None
    timed_out: bool = False
    out_of_memory: bool = False
    duration_ms: int = 0
    max_rss_mb: int = 0
    error: str | None = None  # why the invocation failed (function error), None when it returned

    @property
    def errored(self) -> bool:
        return self.error is not None


def runtime_dir(base: Path) -> Path:
    """A folder holding only what the Lambda Python runtime provides (symlinks to this environment)."""
    target = base / "python"
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed in {sys.prefix}: the local Lambda runtime needs it")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = target / source.name
        if link.is_symlink() or link.exists():
            if link.resolve() == source.resolve():
                continue
            link.unlink()
        # Made under a temporary name and renamed into place: two invocations starting at once
        # (threads or processes) each end with a correct link, never FileExistsError.
        temporary = target / f".{source.name}.{os.getpid()}.{threading.get_ident()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source, target_is_directory=source.is_dir())
        os.replace(temporary, link)
    return target


def lambda_environment(
    fn: LambdaFunction,
    *,
    region: str,
    sandbox_env: dict[str, str],
    ca_file: Path | None,
    log_group: str,
    log_stream: str,
) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "LAMBDA_TASK_ROOT": str(fn.code_dir),
        "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
        "_HANDLER": fn.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - fake credentials for the local servers
        "AWS_SESSION_TOKEN": "testing",
    }
    env.update(sandbox_env)
    env["AWS_REGION"] = region
    env["AWS_DEFAULT_REGION"] = region
    if ca_file is not None:
        env["SSL_CERT_FILE"] = str(ca_file)
    env.update({key: str(value) for key, value in fn.environment.items()})
    return env


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def invoke(
    fn: LambdaFunction,
    event: dict[str, Any],
    *,
    env: dict[str, str],
    deps_dir: Path,
    on_line: Callable[[str], None],
    request_id: str | None = None,
    cancel: threading.Event | None = None,
) -> Invocation:
    """Run the handler once with ``event``; return how the invocation ended. ``cancel`` set while it
    runs: the process is killed and :class:`Cancelled` raised."""
    request_id = request_id or str(uuid.uuid4())
    started = time.time()
    deadline = started + fn.timeout
    invocation = {
        "code_dir": str(fn.code_dir),
        "deps_dir": str(deps_dir),
        "handler": fn.handler,
        "event": event,
        "context": LambdaContext(
            deadline_ms=int(deadline * 1000),
            function_name=fn.function_name,
            invoked_function_arn=fn.arn,
            memory_limit_in_mb=fn.memory_size,
            aws_request_id=request_id,
            log_group_name=env.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            log_stream_name=env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        ).to_dict(),
        "lambda_env": lambda_env.PATH,  # the bootstrap cannot import the package: it loads the file
    }
    on_line(f"START RequestId: {request_id} Version: $LATEST")
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-u", str(BOOTSTRAP)],
        cwd=fn.code_dir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(invocation))
        proc.stdin.close()
    except BrokenPipeError:
        pass

    last_error: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("[ERROR] "):
                last_error[:] = [line[len("[ERROR] ") :]]
            on_line(line)

    reader = threading.Thread(target=pump, name=f"lambda-output-{fn.logical_id}", daemon=True)
    reader.start()

    result = Invocation(request_id=request_id, exit_code=None)
    limit_kb = fn.memory_size * 1024
    try:
        while proc.poll() is None:
            rss = _rss_kb(proc.pid)
            result.max_rss_mb = max(result.max_rss_mb, rss // 1024)
            if rss > limit_kb:
                result.out_of_memory = True
                _kill_group(proc)
                break
            if time.time() >= deadline:
                result.timed_out = True
                _kill_group(proc)
                break
            if cancel is None:
                time.sleep(0.05)
            elif cancel.wait(0.05):
                raise Cancelled(f"{fn.function_name}: invocation {request_id} killed (run interrupted)")
    except BaseException:  # Ctrl-C or an error in the driver: the function must not outlive it
        _kill_group(proc)
        proc.wait()
        raise
    result.exit_code = proc.wait()
    _kill_group(proc)  # whatever the function left running dies with its sandbox
    reader.join(timeout=5)
    result.duration_ms = int((time.time() - started) * 1000)

    if result.timed_out:
        result.error = f"Task timed out after {fn.timeout:.2f} seconds"
        on_line(f"{_now()} {request_id} {result.error}")
    elif result.out_of_memory:
        result.error = (
            f"Runtime exited with error: signal: killed (memory used over MemorySize {fn.memory_size} MB)"
        )
        on_line(f"Error: {result.error} Runtime.ExitError")
    elif result.exit_code != 0:
        result.error = (
            last_error[0] if last_error else f"Runtime exited with error: exit status {result.exit_code}"
        )
    on_line(f"END RequestId: {request_id}")
    on_line(
        f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms} ms\tMemory Size: {fn.memory_size} MB"
        f"\tMax Memory Used: {result.max_rss_mb} MB" + ("\tStatus: timeout" if result.timed_out else "")
    )
    return result


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
