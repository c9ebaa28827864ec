"""Resources moto models: created in the sandbox's moto through moto's own CloudFormation models.

The moto server runs in this process (``ThreadedMotoServer``), so its backends are the ones
``create_from_cloudformation_json`` writes to: a table, queue or parameter made here is what a
function (``AWS_ENDPOINT_URL`` = the moto server) or a test's boto3 client sees. ``Ref`` is the
model's ``physical_resource_id``, ``Fn::GetAtt`` its ``get_cfn_attribute`` (plus the few attributes
moto's models lack, in ``FALLBACK_ATTRIBUTES``), as moto's own CloudFormation does
(moto/cloudformation/parsing.py: ``parse_and_create_resource`` / ``parse_and_update_resource`` /
``ResourceMap.delete``).

Across runs: moto keeps its state in memory, the driver's stack state outlives it. A resource
recorded by an earlier run is therefore looked up in ``_LIVE`` (what this process made in this moto
server, keyed by the server's endpoint); when it is not there, ``update`` creates it again under its
recorded name from the template's current properties, before comparing anything. A name-derived
identity (table, queue, topic, parameter, bucket) comes back the same; one moto draws at random
(a KMS key id, a RestApi id) comes back different, is reported as ``UPDATE_COMPLETE`` and flows into
its dependents as any changed value does.

``AWS::DynamoDB::GlobalTable`` (CDK's ``TableV2``), which moto lacks, is made as the
``AWS::DynamoDB::Table`` of this region with the same name, keys, indexes and stream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import DriverError
from amplify_sandbox.driver.provisioners.base import Provisioner, deletion_policy, generated_name
from amplify_sandbox.driver.resolver import attribute_references
from amplify_sandbox.driver.state import ResourceState, StackState

#: types moto models that other provisioners own, or that must not land in moto: Lambda (the
#: driver records functions itself; moto's permissions and versions would look for them in moto),
#: IAM and log groups (accepted without action: nothing enforces them locally), nested stacks
EXCLUDED_PREFIXES = ("AWS::Lambda::", "AWS::IAM::", "AWS::Logs::", "AWS::CloudFormation::", "AWS::Amplify::")

#: types moto lacks, made as a type it has: (moto type, properties adapter)
GLOBAL_TABLE = "AWS::DynamoDB::GlobalTable"

#: attributes CloudFormation documents that moto's models do not give: (type, attribute) -> value
FALLBACK_ATTRIBUTES: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
    ("AWS::SSM::Parameter", "Value"): lambda obj, ref: obj.value,
    ("AWS::SSM::Parameter", "Type"): lambda obj, ref: obj.type,
    ("AWS::SQS::Queue", "QueueUrl"): lambda obj, ref: ref,
    ("AWS::SNS::Topic", "TopicArn"): lambda obj, ref: ref,
    (GLOBAL_TABLE, "TableId"): lambda obj, ref: obj.table_id if hasattr(obj, "table_id") else None,
}

#: the longest generated name per type (CloudFormation's limits); others: 128
NAME_LIMITS = {"AWS::SQS::Queue": 80, "AWS::SNS::Topic": 256, "AWS::DynamoDB::Table": 255, GLOBAL_TABLE: 255}

#: (moto endpoint, type, physical id) -> the moto object this process made in that moto server
_LIVE: dict[tuple[str, str, str], Any] = {}
_LIVE_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def model_map() -> dict[str, Any]:
    """moto's CloudFormation models by type (importing moto's parsing takes a second: done on first use)."""
    from moto.cloudformation.parsing import get_model_map

    return dict(get_model_map())


def moto_type(resource_type: str) -> str:
    return "AWS::DynamoDB::Table" if resource_type == GLOBAL_TABLE else resource_type


def is_moto_backed(resource_type: str) -> bool:
    if resource_type.startswith(EXCLUDED_PREFIXES) or not resource_type.startswith("AWS::"):
        return False
    return moto_type(resource_type) in model_map()


def global_table_as_table(props: dict[str, Any], region: str) -> dict[str, Any]:
    """An AWS::DynamoDB::GlobalTable's properties as the AWS::DynamoDB::Table of ``region``."""
    table: dict[str, Any] = {
        k: props[k]
        for k in (
            "TableName",
            "KeySchema",
            "AttributeDefinitions",
            "LocalSecondaryIndexes",
            "StreamSpecification",
            "SSESpecification",
            "TimeToLiveSpecification",
        )
        if k in props
    }
    table["BillingMode"] = props.get("BillingMode", "PROVISIONED")
    gsis = props.get("GlobalSecondaryIndexes")
    if gsis:
        table["GlobalSecondaryIndexes"] = [
            {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")} for gsi in gsis
        ]
    replica = next(
        (r for r in props.get("Replicas") or [] if isinstance(r, dict) and r.get("Region") == region), {}
    )
    if replica.get("Tags"):
        table["Tags"] = replica["Tags"]
    return table


def _moto_error(exc: BaseException) -> str:
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    return f"{code}: {message}".strip().splitlines()[0] if message else str(code)


class MotoProvisioner(Provisioner):
    """Every resource type moto has a CloudFormation model for (see :func:`is_moto_backed`)."""

    kind = "moto"

    def handles(self, resource_type: str) -> bool:
        return is_moto_backed(resource_type)

    # ------------------------------------------------------------------ steps
    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        rtype = resource["Type"]
        props = run.resolve_props(lid, resource)
        props = self._with_name(run, lid, rtype, props, None)
        obj = self._create(run, lid, rtype, props, restoring=False)
        try:
            state = self._state(run, lid, resource, obj, props)
        except DriverError:
            # an attribute moto cannot give: the create fails, leaving nothing behind
            _delete_in_moto(run, rtype, obj, props)
            _forget(run, str(obj.physical_resource_id), rtype)
            raise
        run.record(lid, state, None, "created")
        run.event(lid, rtype, "CREATE_COMPLETE", "", state.physical_id)

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        rtype = resource["Type"]
        props = self._with_name(run, lid, rtype, run.resolve_props(lid, resource), old_res)
        obj = _live(run, old_res)
        changed = props != old_res.properties
        action = "kept"
        if obj is None:
            # made by an earlier run in a moto that is gone: make it again under its recorded name
            obj = self._create(run, lid, rtype, props, restoring=True)
            if changed:
                action = "updated"
        elif changed:
            name_prop = _name_property(rtype)
            if name_prop and props.get(name_prop) != old_res.properties.get(name_prop):
                # a new name is a replacement: the new one now, the old one deleted after success
                obj = self._create(run, lid, rtype, props, restoring=False)
                run.delete_after_success(lid, old_res)
                action = "replaced"
            else:
                obj = self._update(run, lid, rtype, obj, props)
                action = "updated"
        state = self._state(run, lid, resource, obj, props)
        if action == "kept" and (state.ref != old_res.ref or state.attributes != old_res.attributes):
            action = "updated"  # moto drew a new id for it (see the module's docstring)
        run.record(lid, state, old_res, action)
        if action != "kept":
            reason = "" if changed else "made again in the sandbox's moto; its identity changed"
            run.event(lid, rtype, "UPDATE_COMPLETE", reason, state.physical_id)

    def delete(
        self, run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState
    ) -> None:
        obj = _live(run, res)
        if obj is None:
            return  # not in this moto: it went with the moto of an earlier run
        try:
            _delete_in_moto(run, res.type, obj, res.properties)
        except Exception as exc:
            raise DriverError(f"moto could not delete {lid} ({res.type}): {_moto_error(exc)}") from exc
        _forget(run, res.physical_id, res.type)

    def revert(
        self, run: StackRun, lid: str, old: ResourceState, new: ResourceState | None, functions: StackState
    ) -> None:
        if new is not None and new.physical_id != old.physical_id:
            return  # replaced: the old one is untouched, the new one is deleted by the rollback
        obj = _live(run, new or old)
        if obj is None:
            self._create(run, lid, old.type, old.properties, restoring=True)
        elif new is None or new.properties != old.properties:
            self._update(run, lid, old.type, obj, old.properties)

    # ------------------------------------------------------------------ moto calls
    def _with_name(
        self, run: StackRun, lid: str, rtype: str, props: dict[str, Any], old_res: ResourceState | None
    ) -> dict[str, Any]:
        """The properties with the name CloudFormation would generate when the template gives none
        (kept from ``old_res`` when it has one): what is recorded and sent to moto."""
        name_prop = _name_property(rtype)
        if not name_prop or name_prop in props:
            return props
        if old_res is not None and isinstance(old_res.properties.get(name_prop), str):
            return {**props, name_prop: old_res.properties[name_prop]}
        return {**props, name_prop: _generate_name(run, lid, rtype, props)}

    def _create(self, run: StackRun, lid: str, rtype: str, props: dict[str, Any], *, restoring: bool) -> Any:
        model = model_map()[moto_type(rtype)]
        cfn = _moto_json(run, rtype, props)
        name = _resource_name(rtype, props, lid)
        kwargs = {"LogicalId": lid, "StackId": run.stack_id, "ResourceType": moto_type(rtype)}
        try:
            obj = model.create_from_cloudformation_json(name, cfn, run.ctx.account, run.ctx.region, **kwargs)
        except Exception as exc:
            if not restoring:
                raise DriverError(f"moto refused to create {lid} ({rtype}): {_moto_error(exc)}") from exc
            # still in moto under that name (another sandbox of this process): ours, made again
            try:
                model.delete_from_cloudformation_json(name, cfn, run.ctx.account, run.ctx.region)
                obj = model.create_from_cloudformation_json(
                    name, cfn, run.ctx.account, run.ctx.region, **kwargs
                )
            except Exception as again:
                raise DriverError(
                    f"moto could not make {lid} ({rtype}) again: {_moto_error(again)}"
                ) from again
        obj.cf_resource_type = moto_type(rtype)
        obj.logical_resource_id = lid
        _remember(run, rtype, obj)
        return obj

    def _update(self, run: StackRun, lid: str, rtype: str, obj: Any, props: dict[str, Any]) -> Any:
        model = model_map()[moto_type(rtype)]
        cfn = _moto_json(run, rtype, props)
        name = _resource_name(rtype, props, lid)
        old_ref = str(obj.physical_resource_id)
        try:
            if hasattr(model.update_from_cloudformation_json, "__isabstractmethod__"):
                _delete_in_moto(run, rtype, obj, props)
                new = model.create_from_cloudformation_json(
                    name, cfn, run.ctx.account, run.ctx.region, LogicalId=lid, StackId=run.stack_id
                )
            else:
                new = model.update_from_cloudformation_json(
                    original_resource=obj,
                    new_resource_name=name,
                    cloudformation_json=cfn,
                    account_id=run.ctx.account,
                    region_name=run.ctx.region,
                )
        except Exception as exc:
            raise DriverError(f"moto refused to update {lid} ({rtype}): {_moto_error(exc)}") from exc
        _forget(run, old_ref, rtype)
        _remember(run, rtype, new)
        return new

    def _state(
        self, run: StackRun, lid: str, resource: dict[str, Any], obj: Any, props: dict[str, Any]
    ) -> ResourceState:
        rtype = resource["Type"]
        ref = obj.physical_resource_id
        return ResourceState(
            type=rtype,
            physical_id=str(ref),
            ref=ref,
            attributes=_attributes(run, lid, rtype, obj, ref),
            properties=props,
            depends_on=run.depends(lid),
            deletion_policy=deletion_policy(resource),
        )


# ---------------------------------------------------------------------- helpers
def _name_property(rtype: str) -> str | None:
    name = model_map()[moto_type(rtype)].cloudformation_name_type()
    return str(name) if name else None


def _generate_name(run: StackRun, lid: str, rtype: str, props: dict[str, Any]) -> str:
    """A name as CloudFormation generates one for ``rtype`` (SSM: ``CFN-<LogicalId>-<SUFFIX>``;
    buckets: lower case, 63 characters; FIFO queues end in ``.fifo``)."""
    if rtype == "AWS::SSM::Parameter":
        return generated_name("CFN", lid, 128)
    if rtype == "AWS::S3::Bucket":
        return generated_name(run.stack_name, lid, 63).lower()
    if rtype == "AWS::SQS::Queue" and str(props.get("FifoQueue", "")).lower() == "true":
        return generated_name(run.stack_name, lid, 75) + ".fifo"
    return generated_name(run.stack_name, lid, NAME_LIMITS.get(rtype, 128))


def _resource_name(rtype: str, props: dict[str, Any], lid: str) -> str:
    name_prop = _name_property(rtype)
    value = props.get(name_prop) if name_prop else None
    return str(value) if value is not None else lid


def _moto_json(run: StackRun, rtype: str, props: dict[str, Any]) -> dict[str, Any]:
    body = global_table_as_table(props, run.ctx.region) if rtype == GLOBAL_TABLE else dict(props)
    return {"Type": moto_type(rtype), "Properties": body}


def _attributes(run: StackRun, lid: str, rtype: str, obj: Any, ref: Any) -> dict[str, Any]:
    """The attributes the template's other resources read (``Fn::GetAtt``, ``Fn::Sub``) from ``lid``;
    one moto cannot give fails the resource, naming it."""
    wanted = sorted(
        attr
        for other, res in run.resources.items()
        if other != lid
        for target, attr in attribute_references(res.get("Properties") or {})
        if target == lid
    )
    found: dict[str, Any] = {}
    for attr in wanted:
        value: Any = None
        try:
            value = obj.get_cfn_attribute(attr)
        except Exception:
            value = None
        if value is None and (rtype, attr) in FALLBACK_ATTRIBUTES:
            value = FALLBACK_ATTRIBUTES[(rtype, attr)](obj, ref)
        if value is None:
            raise DriverError(
                f"Fn::GetAtt {lid}.{attr}: the sandbox's moto gives no {attr} for {lid} ({rtype}), so "
                "its value cannot be known locally"
            )
        found[attr] = value
    return found


def _endpoint(run: StackRun) -> str:
    env = run.ctx.function_env()
    return str(env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3") or "")


def _remember(run: StackRun, rtype: str, obj: Any) -> None:
    with _LIVE_LOCK:
        _LIVE[(_endpoint(run), rtype, str(obj.physical_resource_id))] = obj


def _live(run: StackRun, res: ResourceState) -> Any:
    with _LIVE_LOCK:
        return _LIVE.get((_endpoint(run), res.type, res.physical_id))


def _forget(run: StackRun, physical_id: str, rtype: str) -> None:
    with _LIVE_LOCK:
        _LIVE.pop((_endpoint(run), rtype, physical_id), None)


def _delete_in_moto(run: StackRun, rtype: str, obj: Any, props: dict[str, Any]) -> None:
    """As moto's ResourceMap.delete: the object's own ``delete``, else the model's
    ``delete_from_cloudformation_json`` with the physical id."""
    account, region = run.ctx.account, run.ctx.region
    try:
        obj.delete(account, region)
        return
    except (TypeError, AttributeError):
        pass
    model = model_map()[moto_type(rtype)]
    if not hasattr(model.delete_from_cloudformation_json, "__isabstractmethod__"):
        model.delete_from_cloudformation_json(
            str(obj.physical_resource_id), _moto_json(run, rtype, props), account, region
        )


__all__ = ["MotoProvisioner", "is_moto_backed", "model_map"]
