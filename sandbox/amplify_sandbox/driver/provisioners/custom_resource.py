"""Custom resources (``Custom::*``, AWS::CloudFormation::CustomResource): their Lambda handler run
locally as CloudFormation and Lambda would run it.

Each step sends a real CloudFormation request (Create, Update with the old properties, Delete) to
the function named by the ServiceToken (:mod:`~amplify_sandbox.driver.lambda_runner`, a subprocess
with a private /tmp, retried as Lambda retries an asynchronous invocation) and reads its answer from
the HTTPS ResponseURL (:mod:`~amplify_sandbox.driver.receiver`). An Update answered with a new
physical id is a replacement: the old one gets a Delete after the stack update succeeds.

A function that ends without answering holds the resource, as on CloudFormation, until the
resource's ``ServiceTimeout`` (seconds, 1 to 3600, default 3600) has passed since the request was
sent; ``RunContext.service_timeout_cap`` (``AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP``) shortens that
wait for tests. Several requests may be in flight at once (one per resource the engine runs).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from amplify_sandbox import lambda_env
from amplify_sandbox.driver import lambda_runner
from amplify_sandbox.driver.context import SERVICE_TIMEOUT_CAP_ENV, StackRun
from amplify_sandbox.driver.errors import DriverError, ResourceFailed
from amplify_sandbox.driver.provisioners.base import Provisioner, deletion_policy, random_suffix
from amplify_sandbox.driver.provisioners.lambda_function import recorded_function
from amplify_sandbox.driver.receiver import Response, redact, url_signature
from amplify_sandbox.driver.resolver import stringify_scalars
from amplify_sandbox.driver.results import CustomResourceRequest
from amplify_sandbox.driver.state import ResourceState, StackState
from amplify_sandbox.driver.template import LAMBDA_FUNCTION, is_custom_resource, ref_target


class CustomResourceProvisioner(Provisioner):
    kind: ClassVar[str] = "custom"
    needs_supported_dependencies = True

    def handles(self, resource_type: str) -> bool:
        return is_custom_resource(resource_type)

    def check(self, lid: str, resource: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
        rtype = resource.get("Type", "")
        token = (resource.get("Properties") or {}).get("ServiceToken")
        target = ref_target(token)
        fn = resources.get(target or "")
        if fn is None or fn.get("Type") != LAMBDA_FUNCTION:
            raise DriverError(
                f"{lid} ({rtype}): its ServiceToken must be the Arn of a Lambda function of "
                "the same stack (Fn::GetAtt [Function, Arn]) for the local driver"
            )
        runtime = (fn.get("Properties") or {}).get("Runtime", "")
        if not (isinstance(runtime, str) and runtime.startswith("python")):
            raise DriverError(
                f"{lid} ({rtype}): its function {target} has runtime {runtime!r}; the local "
                "driver runs Python functions only"
            )

    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        rtype = resource["Type"]
        props = stringify_scalars(run.resolve_props(lid, resource))
        service_timeout(lid, props)
        fn = recorded_function(run, lid, props.get("ServiceToken"), run.new)
        request = invoke(run, lid, rtype, "Create", props, None, None, fn)
        if request.status != "SUCCESS":
            run.event(lid, rtype, "CREATE_FAILED", request.reason)
            raise ResourceFailed(lid, request.reason, request.response_physical_id)
        physical = request.response_physical_id or ""
        run.record(lid, _answered(run, lid, resource, props, request, physical), None, "created")
        run.event(lid, rtype, "CREATE_COMPLETE", physical=physical)

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        rtype = resource["Type"]
        props = stringify_scalars(run.resolve_props(lid, resource))
        policy = deletion_policy(resource)
        fn = recorded_function(run, lid, props.get("ServiceToken"), run.new)
        if old_res.properties == props:
            run.keep(lid, rtype, old_res, deletion_policy=policy, properties=props)
            return
        if old_res.properties.get("ServiceToken") != props.get("ServiceToken"):
            reason = "Modifying service token is not allowed."
            run.event(lid, rtype, "UPDATE_FAILED", reason)
            raise ResourceFailed(lid, reason)
        service_timeout(lid, props)
        request = invoke(run, lid, rtype, "Update", props, old_res.properties, old_res.physical_id, fn)
        if request.status != "SUCCESS":
            run.event(lid, rtype, "UPDATE_FAILED", request.reason)
            run.failed_update(lid, old_res)
            raise ResourceFailed(lid, request.reason)
        physical = request.response_physical_id or old_res.physical_id
        state = _answered(run, lid, resource, props, request, physical)
        if physical != old_res.physical_id:
            run.delete_after_success(lid, old_res)  # a new physical id: CloudFormation deletes the old one
            run.record(lid, state, old_res, "replaced")
        else:
            run.record(lid, state, old_res, "updated")
        run.event(lid, rtype, "UPDATE_COMPLETE", physical=physical)

    def delete(
        self, run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState
    ) -> None:
        fn = recorded_function(run, lid, res.properties.get("ServiceToken"), functions)
        request = invoke(run, lid, res.type, "Delete", res.properties, None, res.physical_id, fn, rollback)
        if request.status != "SUCCESS":
            run.event(lid, res.type, "DELETE_FAILED", request.reason, res.physical_id)
            raise ResourceFailed(lid, request.reason)

    def revert(
        self, run: StackRun, lid: str, old: ResourceState, new: ResourceState | None, functions: StackState
    ) -> None:
        fn = recorded_function(run, lid, old.properties.get("ServiceToken"), functions)
        new_props = new.properties if new is not None else _failed_props(run, lid)
        request = invoke(run, lid, old.type, "Update", old.properties, new_props, old.physical_id, fn, True)
        if request.status != "SUCCESS":
            run.event(lid, old.type, "UPDATE_FAILED", f"rollback: {request.reason}", old.physical_id)
            raise ResourceFailed(lid, request.reason)
        run.event(lid, old.type, "UPDATE_COMPLETE", "rolled back", old.physical_id)

    def left_by_failed_create(self, run: StackRun, failure: ResourceFailed) -> ResourceState | None:
        """CloudFormation sends Delete to a custom resource whose Create was sent and failed."""
        lid = failure.logical_id
        invoked = any(
            r.logical_id == lid and r.request_type == "Create" and not r.rollback for r in run.requests()
        )
        if not invoked:
            return None
        resource = run.resources.get(lid) or {}
        return ResourceState(
            type=resource["Type"],
            physical_id=failure.physical_id or f"{run.stack_name}-{lid}-{random_suffix()}",
            properties=stringify_scalars(run.safe_props(lid, resource)),
        )


def _answered(
    run: StackRun,
    lid: str,
    resource: dict[str, Any],
    props: dict[str, Any],
    request: CustomResourceRequest,
    physical: str,
) -> ResourceState:
    """The state of a custom resource after a successful answer: its Ref is the physical id, its
    attributes (Fn::GetAtt) the answer's Data."""
    return ResourceState(
        type=resource["Type"],
        physical_id=physical,
        ref=physical,
        attributes=dict(request.data),
        properties=props,
        depends_on=run.depends(lid),
        deletion_policy=deletion_policy(resource),
    )


def _failed_props(run: StackRun, lid: str) -> dict[str, Any]:
    """The properties of the last (failed) request sent to ``lid`` in this run."""
    for request in reversed(run.requests()):
        if request.logical_id == lid and not request.rollback:
            return request.resource_properties
    return {}


#: CloudFormation's default and maximum ServiceTimeout, in seconds
MAX_SERVICE_TIMEOUT = 3600


def service_timeout(lid: str, props: dict[str, Any]) -> int:
    """The resource's ``ServiceTimeout`` in seconds (default 3600); a value CloudFormation would refuse
    (not an integer from 1 to 3600) fails the resource before its function is invoked."""
    raw = props.get("ServiceTimeout")
    if raw is None:
        return MAX_SERVICE_TIMEOUT
    try:
        value = int(str(raw))
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_SERVICE_TIMEOUT:
        raise DriverError(
            f"Resources.{lid}.Properties.ServiceTimeout: {raw!r} is invalid; it must be an integer "
            f"from 1 to {MAX_SERVICE_TIMEOUT} (seconds)"
        )
    return value


def _lenient_service_timeout(lid: str, props: dict[str, Any]) -> int:
    """:func:`service_timeout`, or the default for a value already refused (a rollback, a Delete)."""
    try:
        return service_timeout(lid, props)
    except DriverError:
        return MAX_SERVICE_TIMEOUT


def invoke(
    run: StackRun,
    lid: str,
    rtype: str,
    request_type: str,
    props: dict[str, Any],
    old_props: dict[str, Any] | None,
    physical_id: str | None,
    fn: lambda_runner.LambdaFunction,
    rollback: bool = False,
) -> CustomResourceRequest:
    """Send one request to the custom resource's function and read its answer from the ResponseURL."""
    ctx = run.ctx
    receiver = ctx.receiver()
    request_id = str(uuid.uuid4())
    url = receiver.new_url(run.stack_id, lid, request_id)
    event = lambda_env.custom_resource_event(
        request_type,
        props,
        response_url=url,
        stack_id=run.stack_id,
        logical_id=lid,
        resource_type=rtype,
        service_token=fn.arn,
        request_id=request_id,
        physical_id=physical_id,
        old_properties=old_props,
    )
    timeout = _lenient_service_timeout(lid, props)
    request = CustomResourceRequest(lid, request_type, physical_id, props, old_props, rollback=rollback)
    request.sent_at = time.time()
    # CloudFormation's clock for the ServiceTimeout starts when it sends the request
    deadline = time.monotonic() + timeout
    run.add_request(request)
    run.log(
        f"{run.stack_name} | {lid} ({rtype}) {request_type}{' (rollback)' if rollback else ''}: "
        f"invoking {fn.function_name} ({fn.handler})"
    )
    secrets_ = [url, url_signature(url)]
    prefix = f"    {lid} λ | "

    def on_line(line: str) -> None:
        run.log(prefix + redact(line, secrets_))

    env = lambda_runner.lambda_environment(
        fn,
        region=ctx.region,
        sandbox_env=ctx.function_env(),
        ca_file=receiver.ca_file,
        log_group=f"/aws/lambda/{fn.function_name}",
        log_stream=f"local/[$LATEST]{uuid.uuid4().hex}",
    )
    deps = lambda_runner.runtime_dir(ctx.state_dir / "lambda-runtime")
    attempts = 1 + max(0, fn.max_retries)
    failure = ""
    try:
        for attempt in range(1, attempts + 1):
            # a cold start each time: a private, empty /tmp (TMPDIR), removed afterwards
            tmp_root = ctx.state_dir / "lambda-tmp"
            tmp_root.mkdir(parents=True, exist_ok=True)
            private_tmp = Path(tempfile.mkdtemp(prefix=f"{lid}-", dir=tmp_root))
            env["TMPDIR"] = str(private_tmp)
            try:
                invocation = lambda_runner.invoke(
                    fn, event, env=env, deps_dir=deps, on_line=on_line, cancel=run.cancelled
                )
            finally:
                shutil.rmtree(private_tmp, ignore_errors=True)
            if receiver.response_for(url) is not None:
                break
            if invocation.errored:
                failure = f"the function {fn.function_name} failed ({invocation.error})"
            else:
                failure = f"the function {fn.function_name} returned"
            if invocation.errored and attempt < attempts:
                run.log(
                    f"{run.stack_name} | {lid}: Lambda retries the asynchronous invocation "
                    f"(attempt {attempt + 1} of {attempts})"
                )
                continue
            break
        response = receiver.response_for(url)
        if response is None:
            response = _wait_out_service_timeout(run, lid, fn, url, timeout, deadline)
    finally:
        receiver.forget(url)
        request.ended_at = time.time()
    if response is None:
        request.reason = (
            f"No response from the custom resource handler within its ServiceTimeout ({timeout} s): "
            f"{failure} without sending one to the ResponseURL"
        )
        return request
    request.status = response.status
    request.reason = response.reason or ("" if response.status == "SUCCESS" else "(no reason given)")
    if response.error:
        request.status = "FAILED"
        request.reason = response.error
    request.response_physical_id = response.physical_resource_id
    request.data = response.data
    if request.status == "SUCCESS" and not response.physical_resource_id:
        request.status = "FAILED"
        request.reason = "Invalid PhysicalResourceId: the response has none"
    return request


def _wait_out_service_timeout(
    run: StackRun, lid: str, fn: lambda_runner.LambdaFunction, url: str, timeout: int, deadline: float
) -> Response | None:
    """The function ended without answering: as CloudFormation, wait for an answer until the
    ServiceTimeout has passed since the request was sent (at most ``service_timeout_cap`` seconds
    locally, when one is set). Said once, with how long. The answer, if one comes after all."""
    receiver = run.ctx.receiver()
    remaining = max(0.0, deadline - time.monotonic())
    cap = run.ctx.service_timeout_cap
    wait = remaining if cap is None else min(remaining, cap)
    capped = f"; the local wait is capped at {cap:g} s ({SERVICE_TIMEOUT_CAP_ENV})" if cap is not None else ""
    head = f"{run.stack_name} | {lid}: the function {fn.function_name} ended without answering"
    if wait <= 0:
        run.log(f"{head}; not waiting (ServiceTimeout {timeout} s{capped})")
        return None
    run.log(
        f"{head}; waiting {wait:.0f} s for an answer, as CloudFormation waits out the ServiceTimeout "
        f"({timeout} s since the request was sent{capped})"
    )
    end = time.monotonic() + wait
    while True:
        response = receiver.response_for(url)
        if response is not None:
            return response
        left = end - time.monotonic()
        if left <= 0:
            return None
        if run.cancelled.wait(min(0.2, left)):
            raise lambda_runner.Cancelled(f"{lid}: the wait for an answer was interrupted")
