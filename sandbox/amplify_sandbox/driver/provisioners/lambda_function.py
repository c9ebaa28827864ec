"""AWS::Lambda::Function: recorded, not deployed anywhere; custom resources run it locally.

The record holds what :mod:`amplify_sandbox.driver.lambda_runner` needs (handler, runtime, timeout,
memory, environment, retries) and a snapshot of the code: the asset the function's ``Code`` points
at, unpacked into ``.amplify-sandbox/functions/<asset id>/`` (or ``Code.ZipFile`` written out), so a
rollback or destroy runs the code that was deployed, not what was synthesized since.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from amplify_sandbox.driver import assets as assets_mod
from amplify_sandbox.driver import lambda_runner
from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import DriverError
from amplify_sandbox.driver.provisioners.base import Provisioner, deletion_policy, generated_name
from amplify_sandbox.driver.state import ResourceState, StackState
from amplify_sandbox.driver.template import LAMBDA_FUNCTION

#: Lambda retries a failed asynchronous invocation twice unless EventInvokeConfig says otherwise
DEFAULT_RETRIES = 2


class LambdaFunctionProvisioner(Provisioner):
    kind = "lambda"
    types = frozenset({LAMBDA_FUNCTION})

    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        self._record(run, lid, resource, None)

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        self._record(run, lid, resource, old_res)

    def _record(
        self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState | None
    ) -> None:
        rtype = resource["Type"]
        ctx = run.ctx
        props = run.resolve_props(lid, resource)
        name = props.get("FunctionName")
        if not isinstance(name, str):
            name = old_res.physical_id if old_res is not None else generated_name(run.stack_name, lid)
        arn = f"arn:aws:lambda:{ctx.region}:{ctx.account}:function:{name}"
        runtime = str(props.get("Runtime", ""))
        code_dir = _function_code(run, lid, props, runtime)
        env_vars = (props.get("Environment") or {}).get("Variables") or {}
        function = {
            "logical_id": lid,
            "function_name": name,
            "arn": arn,
            "handler": str(props.get("Handler", "")),
            "runtime": runtime,
            "code_dir": _relative_to(code_dir, ctx.state_dir),
            "timeout": int(props.get("Timeout", lambda_runner.DEFAULT_TIMEOUT)),
            "memory_size": int(props.get("MemorySize", lambda_runner.DEFAULT_MEMORY)),
            "environment": {str(k): str(v) for k, v in env_vars.items()},
            "max_retries": run.retries.get(lid, DEFAULT_RETRIES),
        }
        if props.get("Layers"):
            run.log(f"{run.stack_name} | {lid}: its Layers are not provided by the local Lambda runtime")
        state = ResourceState(
            type=rtype,
            physical_id=name,
            ref=name,
            attributes={"Arn": arn},
            properties=props,
            depends_on=run.depends(lid),
            deletion_policy=deletion_policy(resource),
            function=function,
        )
        if old_res is not None and old_res.properties == props and old_res.function == function:
            run.record(lid, state, old_res, "kept")
            return
        action = "created" if old_res is None else "updated"
        run.record(lid, state, old_res, action)
        run.event(
            lid,
            rtype,
            "CREATE_COMPLETE" if old_res is None else "UPDATE_COMPLETE",
            f"recorded: {function['handler']}, {runtime}, code {code_dir.name}, timeout "
            f"{function['timeout']} s, {function['memory_size']} MB",
            name,
        )


def _function_code(run: StackRun, lid: str, props: dict[str, Any], runtime: str) -> Path:
    code = props.get("Code") or {}
    functions_dir = run.ctx.state_dir / "functions"
    if "ZipFile" in code:
        digest = hashlib.sha256(str(code["ZipFile"]).encode()).hexdigest()[:16]
        return assets_mod.write_inline_code(str(code["ZipFile"]), functions_dir / f"inline-{digest}", runtime)
    bucket, key = code.get("S3Bucket"), code.get("S3Key")
    asset = assets_mod.bucket_key_lookup(run.ctx.published, bucket, key)
    if asset is None:
        raise DriverError(
            f"Resources.{lid}.Properties.Code: s3://{bucket}/{key} is not a file asset of the "
            "cloud assembly (the local driver runs code from the app's own assets only)"
        )
    return assets_mod.unpack_code(asset, functions_dir / asset.id)


def _relative_to(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it (the state folder can then move with the app)."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def recorded_function(run: StackRun, lid: str, token: Any, where: StackState) -> lambda_runner.LambdaFunction:
    """The function of ``where`` whose Arn is ``token`` (a custom resource's ServiceToken), runnable."""
    for res in where.resources.values():
        if res.function and res.attributes.get("Arn") == token:
            fields = dict(res.function)
            fields["code_dir"] = run.ctx.state_dir / fields["code_dir"]  # an absolute path stays as is
            if not fields["code_dir"].is_dir():
                raise DriverError(
                    f"{lid}: the code of {fields['function_name']} is missing ({fields['code_dir']}); "
                    f"deploy again, or delete {run.ctx.state_dir} to start afresh"
                )
            return lambda_runner.LambdaFunction(**fields)
    raise DriverError(f"{lid}: ServiceToken {token!r} is not a Lambda function the local driver knows")
