"""AWS::SecretsManager::Secret: created, updated and deleted in the sandbox's moto Secrets Manager.

Create: CreateSecret with ``SecretString``, or with a value made from ``GenerateSecretString``
(GetRandomPassword with its options, put into ``SecretStringTemplate`` under ``GenerateStringKey``), or
empty when neither is given. Ref and ``Fn::GetAtt Id`` = the secret's ARN, as CloudFormation returns
them. Without ``Name`` the name is ``<LogicalId>-<12 random letters and digits>``.

Update: a new ``Name`` replaces the secret (the new one first, the old one deleted after the update);
a changed ``SecretString`` or ``GenerateSecretString`` puts a new value (a changed generator makes a new
password); a changed ``Description`` is applied; anything else is recorded. Delete: DeleteSecret
without a recovery window (already gone counts as deleted). Revert: the old value and description.

moto keeps its state in memory: the value is kept in the driver's state (beside the resolved
properties, which hold it anyway once a resource uses it), so a secret gone after a restart is made
again with the same name and value (its ARN's random suffix changes). The value is what
``{{resolve:secretsmanager:...}}`` dynamic references in other resources resolve to (resolver.py).
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any, ClassVar

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import DriverError, ResourceFailed, error_code, error_reason
from amplify_sandbox.driver.provisioners.base import Provisioner, deletion_policy
from amplify_sandbox.driver.resolver import SECRET_NAME, SECRET_VALUE
from amplify_sandbox.driver.state import ResourceState, StackState

SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
# GenerateSecretString -> GetRandomPassword parameters (the rest are the template's business)
_GENERATOR_OPTIONS = (
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "PasswordLength",
    "RequireEachIncludedType",
)
_BOOLEAN_OPTIONS = {o for o in _GENERATOR_OPTIONS if o.startswith(("Exclude", "Include", "Require"))} - {
    "ExcludeCharacters"
}
_GONE = ("ResourceNotFoundException",)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def secret_value(client: Any, lid: str, props: dict[str, Any]) -> str | None:
    """The value a create (or a changed generator) stores: SecretString, a generated one, or None."""
    where = f"Resources.{lid}.Properties"
    given, generator = props.get("SecretString"), props.get("GenerateSecretString")
    if given is not None and generator is not None:
        raise DriverError(f"{where}: give SecretString or GenerateSecretString, not both")
    if given is not None:
        if not isinstance(given, str):
            raise DriverError(f"{where}.SecretString must be a string")
        return given
    if generator is None:
        return None
    if not isinstance(generator, dict):
        raise DriverError(f"{where}.GenerateSecretString must be an object")
    template, key = generator.get("SecretStringTemplate"), generator.get("GenerateStringKey")
    if (template is None) != (key is None):
        raise DriverError(
            f"{where}.GenerateSecretString: SecretStringTemplate and GenerateStringKey go together"
        )
    options: dict[str, Any] = {}
    for option in _GENERATOR_OPTIONS:
        if option in generator:
            value = generator[option]
            if option in _BOOLEAN_OPTIONS:
                value = _flag(value)
            elif option == "PasswordLength":
                value = int(value)
            options[option] = value
    password = str(client.get_random_password(**options)["RandomPassword"])
    if template is None:
        return password
    try:
        document = json.loads(str(template))
    except ValueError as exc:
        raise DriverError(f"{where}.GenerateSecretString.SecretStringTemplate is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise DriverError(f"{where}.GenerateSecretString.SecretStringTemplate must be a JSON object")
    document[str(key)] = password
    return json.dumps(document, separators=(",", ":"))


def _name(lid: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{lid}-{''.join(secrets.choice(alphabet) for _ in range(12))}"


def _failed(run: StackRun, lid: str, status: str, exc: Exception) -> ResourceFailed:
    """Report a failed CreateSecret/UpdateSecret (or a refused property) as ``status``."""
    reason = str(exc) if isinstance(exc, DriverError) else error_reason(exc)
    run.event(lid, SECRET, status, reason)
    return ResourceFailed(lid, reason)


def _state(
    run: StackRun,
    lid: str,
    resource: dict[str, Any],
    arn: str,
    attributes: dict[str, Any],
    props: dict[str, Any],
) -> ResourceState:
    """A secret's record: Ref and physical id are its ARN."""
    return ResourceState(
        type=SECRET,
        physical_id=arn,
        ref=arn,
        attributes=attributes,
        properties=props,
        depends_on=run.depends(lid),
        deletion_policy=deletion_policy(resource),
    )


class SecretProvisioner(Provisioner):
    kind = "secret"
    types: ClassVar[frozenset[str]] = frozenset({SECRET})

    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        props = run.resolve_props(lid, resource)
        self._create(run, lid, resource, props, None)

    def _create(
        self,
        run: StackRun,
        lid: str,
        resource: dict[str, Any],
        props: dict[str, Any],
        keep: ResourceState | None,
    ) -> None:
        """CreateSecret; with ``keep`` (a recorded secret gone from moto), its name and value again."""
        client = run.ctx.client("secretsmanager")
        try:
            if keep is not None:
                name, value = keep.attributes[SECRET_NAME], keep.attributes.get(SECRET_VALUE)
            else:
                name = props["Name"] if isinstance(props.get("Name"), str) else _name(lid)
                value = secret_value(client, lid, props)
            params: dict[str, Any] = {"Name": name}
            if isinstance(props.get("Description"), str):
                params["Description"] = props["Description"]
            if value is not None:
                params["SecretString"] = value
            if isinstance(props.get("Tags"), list):
                params["Tags"] = [t for t in props["Tags"] if isinstance(t, dict)]
            arn = client.create_secret(**params)["ARN"]
        except Exception as exc:
            raise _failed(run, lid, "CREATE_FAILED", exc) from exc
        state = _state(run, lid, resource, arn, {"Id": arn, SECRET_NAME: name, SECRET_VALUE: value}, props)
        run.record(lid, state, None, "created")
        run.event(lid, SECRET, "CREATE_COMPLETE", physical=arn)

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        props = run.resolve_props(lid, resource)
        old = old_res.properties
        if props.get("Name") != old.get("Name"):
            run.delete_after_success(lid, old_res)  # a new name: a new secret, the old one deleted after
            self._create(run, lid, resource, props, None)
            return
        client = run.ctx.client("secretsmanager")
        if not self._exists(client, old_res):
            run.log(
                f"{run.stack_name} | {lid}: secret {old_res.attributes[SECRET_NAME]} is gone from moto "
                "(restarted); making it again with its value"
            )
            self._create(run, lid, resource, props, old_res)
            return
        if props == old:
            run.keep(lid, SECRET, old_res, deletion_policy=deletion_policy(resource), properties=props)
            return
        value = old_res.attributes.get(SECRET_VALUE)
        try:
            params: dict[str, Any] = {"SecretId": old_res.physical_id}
            changed_value = any(props.get(p) != old.get(p) for p in ("SecretString", "GenerateSecretString"))
            if changed_value:
                value = secret_value(client, lid, props)
                params["SecretString"] = value if value is not None else ""
            if props.get("Description") != old.get("Description"):
                params["Description"] = props.get("Description") or ""
            if len(params) > 1:
                client.update_secret(**params)
        except Exception as exc:
            raise _failed(run, lid, "UPDATE_FAILED", exc) from exc
        attributes = {**old_res.attributes, SECRET_VALUE: value}
        state = _state(run, lid, resource, old_res.physical_id, attributes, props)
        run.record(lid, state, old_res, "updated")
        run.event(lid, SECRET, "UPDATE_COMPLETE", physical=old_res.physical_id)

    @staticmethod
    def _exists(client: Any, res: ResourceState) -> bool:
        try:
            client.describe_secret(SecretId=res.physical_id)
            return True
        except Exception as exc:
            if error_code(exc) in _GONE:
                return False
            raise

    def delete(
        self, run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState
    ) -> None:
        try:
            run.ctx.client("secretsmanager").delete_secret(
                SecretId=res.physical_id, ForceDeleteWithoutRecovery=True
            )
        except Exception as exc:
            if error_code(exc) not in _GONE:
                reason = error_reason(exc)
                run.event(lid, res.type, "DELETE_FAILED", reason, res.physical_id)
                raise ResourceFailed(lid, reason) from exc

    def revert(
        self, run: StackRun, lid: str, old: ResourceState, new: ResourceState | None, functions: StackState
    ) -> None:
        params: dict[str, Any] = {"SecretId": old.physical_id}
        value = old.attributes.get(SECRET_VALUE)
        if new is None or new.attributes.get(SECRET_VALUE) != value:
            params["SecretString"] = value if value is not None else ""
        params["Description"] = old.properties.get("Description") or ""
        run.ctx.client("secretsmanager").update_secret(**params)
        run.event(lid, old.type, "UPDATE_COMPLETE", "rolled back", old.physical_id)
