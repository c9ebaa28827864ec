"""Resources accepted without action: IAM roles and policies, log groups, Lambda permissions...

They get plausible physical ids and ARNs (kept across runs, so references stay stable) and live
only in the driver's state; updating or deleting them does nothing.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.provisioners.base import (
    Provisioner,
    deletion_policy,
    generated_name,
    random_suffix,
)
from amplify_sandbox.driver.state import ResourceState


class PassiveProvisioner(Provisioner):
    kind = "passive"
    types: ClassVar[frozenset[str]] = frozenset(
        {
            "AWS::IAM::Role",
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
            "AWS::Logs::LogGroup",
            "AWS::Lambda::EventInvokeConfig",
            "AWS::Lambda::Permission",
            "AWS::CDK::Metadata",
        }
    )

    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        rtype = resource["Type"]
        ref, attrs = identity(run, lid, resource)
        state = ResourceState(
            type=rtype,
            physical_id=str(ref),
            ref=ref,
            attributes=attrs,
            depends_on=run.depends(lid),
            deletion_policy=deletion_policy(resource),
        )
        run.record(lid, state, None, "created")
        run.event(lid, rtype, "CREATE_COMPLETE", "accepted without action (local driver)", str(ref))

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        run.keep(lid, resource["Type"], old_res, deletion_policy=deletion_policy(resource))


def identity(run: StackRun, lid: str, resource: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(Ref, attributes) of a new passive resource, shaped like AWS's."""
    rtype = resource["Type"]
    props = resource.get("Properties") or {}
    acct, region, stack_name = run.ctx.account, run.ctx.region, run.stack_name
    if rtype == "AWS::IAM::Role":
        name = (
            props.get("RoleName")
            if isinstance(props.get("RoleName"), str)
            else generated_name(stack_name, lid)
        )
        return name, {"Arn": f"arn:aws:iam::{acct}:role/{name}", "RoleId": "AROA" + random_suffix(17)}
    if rtype == "AWS::IAM::ManagedPolicy":
        name = (
            props.get("ManagedPolicyName")
            if isinstance(props.get("ManagedPolicyName"), str)
            else generated_name(stack_name, lid, 128)
        )
        arn = f"arn:aws:iam::{acct}:policy/{name}"
        return arn, {"PolicyArn": arn, "PolicyId": "ANPA" + random_suffix(17)}
    if rtype == "AWS::IAM::Policy":
        pid = f"{stack_name[:5]}-{lid[:5]}{random_suffix(12)}"
        return pid, {"Id": pid}
    if rtype == "AWS::Logs::LogGroup":
        name = (
            props.get("LogGroupName")
            if isinstance(props.get("LogGroupName"), str)
            else generated_name(stack_name, lid, 512)
        )
        return name, {"Arn": f"arn:aws:logs:{region}:{acct}:log-group:{name}:*"}
    if rtype == "AWS::Lambda::EventInvokeConfig":
        return str(uuid.uuid4()), {}
    return f"{stack_name}-{lid}-{random_suffix()}", {}
