"""Placeholders: resource types nothing in the sandbox provisions (Cognito user pools, AppSync APIs,
CloudFront distributions...). Nothing is created; the resource gets values shaped like AWS's, kept
across runs, so what reads them (a site's config.json, a function's environment) deploys. The
scheme (documented in docs/driver.md, "Placeholders"):

- ``Ref``: the resource's name property when the template gives one (``<Kind>Name`` or ``Name``),
  else ``<Stack>-<LogicalId>-<SUFFIX>``; a few types get their AWS shape (a Cognito user pool id
  ``<region>_<9 characters>``, a user pool client id of 26 characters).
- ``Fn::GetAtt``: ``Arn`` = ``arn:aws:<service>:<region>:<account>:<kind>/<Ref>`` (service and kind
  from the type, lower case), any attribute ending in ``Name`` or ``Id`` = ``Ref``, ending in
  ``Arn`` = that ``Arn``; plus the documented extras of the types in ``SHAPES``.
- Any other attribute another resource reads cannot be known: the deploy fails with one line naming
  the resource and the attribute.

The deploy lists the placeholders in one line (:func:`placeholder_line`).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import Any

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import DriverError
from amplify_sandbox.driver.provisioners.base import (
    Provisioner,
    deletion_policy,
    generated_name,
)
from amplify_sandbox.driver.resolver import attribute_references
from amplify_sandbox.driver.state import ResourceState, StackState


def _token(n: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


#: (run, logical id, properties) -> (Ref, extra attributes): types whose Ref AWS shapes its own way
Shape = Callable[[StackRun, str, dict[str, Any]], tuple[str, dict[str, Any]]]


def _user_pool(run: StackRun, lid: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    region = run.ctx.region
    pool_id = f"{region}_{_token(9, string.ascii_letters + string.digits)}"
    return pool_id, {
        "Arn": f"arn:aws:cognito-idp:{region}:{run.ctx.account}:userpool/{pool_id}",
        "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
        "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        "UserPoolId": pool_id,
    }


def _user_pool_client(run: StackRun, lid: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    client_id = _token(26)
    return client_id, {"ClientId": client_id, "Name": str(props.get("ClientName") or client_id)}


def _identity_pool(run: StackRun, lid: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pool_id = f"{run.ctx.region}:{_token(8, '0123456789abcdef')}-{_token(4, '0123456789abcdef')}-" + (
        f"{_token(4, '0123456789abcdef')}-{_token(4, '0123456789abcdef')}-{_token(12, '0123456789abcdef')}"
    )
    return pool_id, {"Name": str(props.get("IdentityPoolName") or pool_id), "Id": pool_id}


SHAPES: dict[str, Shape] = {
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::IdentityPool": _identity_pool,
}


class PlaceholderProvisioner(Provisioner):
    """Every type no other provisioner handles (last in the registry)."""

    kind = "placeholder"

    def handles(self, resource_type: str) -> bool:
        return bool(resource_type) and not resource_type.startswith("Custom::")

    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        rtype = resource["Type"]
        props = run.safe_props(lid, resource)
        ref, attrs = identity(run, lid, rtype, props)
        state = ResourceState(
            type=rtype,
            physical_id=ref,
            ref=ref,
            attributes=_wanted(run, lid, rtype, ref, attrs),
            depends_on=run.depends(lid),
            deletion_policy=deletion_policy(resource),
        )
        run.record(lid, state, None, "created")
        run.event(lid, rtype, "CREATE_COMPLETE", "placeholder (nothing created locally)", ref)

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        rtype = resource["Type"]
        props = run.safe_props(lid, resource)
        # the same identity as before; attributes newly read by the template are added
        _, attrs = identity(run, lid, rtype, props, ref=str(old_res.ref))
        attrs.update(old_res.attributes)
        state = ResourceState(
            type=rtype,
            physical_id=old_res.physical_id,
            ref=old_res.ref,
            attributes=_wanted(run, lid, rtype, str(old_res.ref), attrs),
            depends_on=run.depends(lid),
            deletion_policy=deletion_policy(resource),
        )
        run.record(lid, state, old_res, "kept")

    def delete(
        self, run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState
    ) -> None:
        """Nothing was created."""


def identity(
    run: StackRun, lid: str, rtype: str, props: dict[str, Any], *, ref: str | None = None
) -> tuple[str, dict[str, Any]]:
    """(Ref, every attribute the scheme gives) of a placeholder; ``ref``: keep this Ref."""
    service, _, kind = rtype.removeprefix("AWS::").partition("::")
    attrs: dict[str, Any] = {}
    if rtype in SHAPES and ref is None:
        ref, attrs = SHAPES[rtype](run, lid, props)
    if ref is None:
        named = props.get(f"{kind}Name", props.get("Name"))
        ref = named if isinstance(named, str) and named else generated_name(run.stack_name, lid)
    attrs.setdefault(
        "Arn", f"arn:aws:{service.lower()}:{run.ctx.region}:{run.ctx.account}:{kind.lower()}/{ref}"
    )
    return ref, attrs


def _wanted(run: StackRun, lid: str, rtype: str, ref: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The scheme's attributes, plus those the other resources read by suffix (``...Name``/``...Id``
    = Ref, ``...Arn`` = Arn); an attribute the scheme cannot give fails, naming it."""
    out = dict(attrs)
    for other, res in run.resources.items():
        if other == lid:
            continue
        for target, attr in sorted(attribute_references(res.get("Properties") or {})):
            if target != lid or attr in out:
                continue
            if attr.endswith("Arn"):
                out[attr] = attrs["Arn"]
            elif attr.endswith(("Name", "Id")):
                out[attr] = ref
            else:
                raise DriverError(
                    f"Fn::GetAtt {lid}.{attr}: {lid} ({rtype}) is a placeholder in the local sandbox "
                    f"(nothing provisions it), so its {attr} cannot be known; {other} reads it"
                )
    return out


def placeholders_of(state: StackState) -> list[tuple[str, str]]:
    """(logical id, type) of the placeholders of a recorded stack, by logical id (independent
    resources are provisioned concurrently, so their provisioning order varies from run to run)."""
    from amplify_sandbox.driver.provisioners import kind

    return sorted(
        (lid, resource.type)
        for lid, resource in state.resources.items()
        if kind(resource.type) == "placeholder"
    )


def placeholder_line(states: list[StackState]) -> str | None:
    """The deploy's one line naming its placeholders, or None when there are none."""
    found = [f"{lid} ({rtype})" for state in states for lid, rtype in placeholders_of(state)]
    if not found:
        return None
    return (
        f"Placeholders (not created locally; their Ref/GetAtt values are made up, see docs/driver.md): "
        f"{', '.join(found)}"
    )
