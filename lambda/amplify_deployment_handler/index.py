"""Lambda entry point (`amplify_deployment_handler.index.handler`): crhelper wiring and the deadline.

Importing this module is cheap: crhelper's CfnResource (which builds three boto3 clients) is made on
the first invocation. crhelper runs at INFO (its DEBUG level logs the event, ResponseURL included),
with no sleep on Delete and without its EventBridge polling; the deadline is ours (deadline.py).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from .changes import response_data
from .deadline import Deadline, Timing
from .deploy import DeploymentError, Settings, deploy
from .logs import DEFAULT_PROGRESS_INTERVAL, mask_urls
from .logs import event as log_event
from .props import PropsError, parse_props
from .rules import DEFAULT_FUNCTION_TIMEOUT_S, DEFAULT_UPLOAD_WORKERS
from .site_changes import CHANGES_BUDGET_S, Previous
from .upload import UploadPolicy

logger = logging.getLogger("amplify_deployment_handler")

REASON_MAX = 256

_helper: Any = None
#: the deadline's clock and the waits' sleep (tests replace them with simulated time)
TIMING = Timing()


def clean_reason(reason: str) -> str:
    """One line, no URL, at most 256 characters with the start kept (crhelper would keep the end)."""
    text = mask_urls(" ".join(str(reason).split()))
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 3] + "..."


def _env_number(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        log_event("config", logging.WARNING, warning=f"{name}={raw[:20]!r} is not a number; using {default}")
        return default
    return min(high, max(low, value))


def settings_from_env() -> Settings:
    return Settings(
        abandoned_after_s=_env_number(
            "AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT", DEFAULT_FUNCTION_TIMEOUT_S, 1, 86400
        ),
        workers=int(_env_number("AMPLIFY_DEPLOYMENT_UPLOAD_WORKERS", DEFAULT_UPLOAD_WORKERS, 1, 64)),
        upload=UploadPolicy(),
        tmp_dir=os.environ.get("AMPLIFY_DEPLOYMENT_TMP_DIR") or None,
        progress_interval=_env_number(
            "AMPLIFY_DEPLOYMENT_PROGRESS_INTERVAL", DEFAULT_PROGRESS_INTERVAL, 0, 3600
        ),
        changes_budget_s=_env_number("AMPLIFY_DEPLOYMENT_CHANGES_SECONDS", CHANGES_BUDGET_S, 0, 60),
    )


def _clients(workers: int) -> tuple[Any, Any, Any]:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=workers + 4,
        ),
    )
    amplify = boto3.client(
        "amplify",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=30),
    )
    # CreateDeployment/StartDeployment: one attempt each; the handler settles a lost answer itself
    amplify_once = boto3.client(
        "amplify",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=10, read_timeout=30
        ),
    )
    return s3, amplify, amplify_once


def _fail(reason: str, physical_id: str | None, started: float) -> str | None:
    reason = clean_reason(reason)
    log_event(
        "result",
        logging.ERROR,
        status="FAILED",
        reason=reason,
        seconds=time.monotonic() - started,
    )
    _helper.Status = "FAILED"
    _helper.Reason = reason
    return physical_id


def _create_or_update(event: dict[str, Any], context: Any) -> str | None:
    request = event.get("RequestType", "?")
    old_id = event.get("PhysicalResourceId")  # present on Update: keep it when the update fails
    deadline = Deadline.from_context(context, TIMING.clock)
    started = time.monotonic()
    try:
        props = parse_props(event.get("ResourceProperties"))
    except PropsError as exc:
        return _fail(f"invalid properties: {exc}", old_id, started)
    log_event(
        "request",
        request=request,
        app=props.app_id,
        branch=props.branch_name,
        mode=props.upload_mode,
        sources=len(props.sources),
    )
    settings = settings_from_env()
    try:
        s3, amplify, amplify_once = _clients(settings.workers)
        previous = Previous(request, event.get("OldResourceProperties"))
        result = deploy(
            props, s3, amplify, deadline, settings, TIMING.sleep, amplify_once=amplify_once, previous=previous
        )
    except DeploymentError as exc:
        return _fail(str(exc), old_id or props.physical_id, started)
    except Exception as exc:
        logger.exception("unexpected error")  # the traceback: a bug to report
        return _fail(f"internal error: {type(exc).__name__}: {exc}", old_id or props.physical_id, started)
    _helper.Data.update(
        {
            "JobId": result.job_id,
            "BranchUrl": props.branch_url,
            # PULL mode does not read the zip: its file and byte counts are not known ("")
            "FileCount": "" if result.file_count is None else str(result.file_count),
            "ByteCount": "" if result.byte_count is None else str(result.byte_count),
        }
    )
    if result.changes is not None:  # FilesAdded, FilesChanged, FilesRemoved: counts only ("" if unknown)
        _helper.Data.update(response_data(result.changes))
    log_event(
        "result",
        status="SUCCESS",
        job_id=result.job_id,
        files=result.file_count,
        bytes=result.byte_count,
        seconds=time.monotonic() - started,
    )
    return props.physical_id


def _delete(event: dict[str, Any], context: Any) -> str | None:
    log_event(
        "result",
        request="Delete",
        status="SUCCESS",
        note="nothing to do: deployed content stays on the branch",
    )
    return event.get("PhysicalResourceId")


def _get_helper() -> Any:
    global _helper
    if _helper is None:
        if not logging.root.handlers:  # outside Lambda (the sandbox's subprocess): log to stderr
            logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        from crhelper import CfnResource

        helper = CfnResource(json_logging=False, log_level="INFO", boto_level="ERROR", sleep_on_delete=0)
        helper.create(_create_or_update)
        helper.update(_create_or_update)
        helper.delete(_delete)
        _helper = helper
    return _helper


def handler(event: dict[str, Any], context: Any) -> None:
    _get_helper()(event, context)
