"""AWS::Amplify::App and AWS::Amplify::Branch: created, updated and deleted in the Amplify emulator.

Create: CreateApp / CreateBranch with the template's properties. A branch name that already exists
fails the resource as CloudFormation does (AlreadyExists; the stack rolls back): the driver never
adopts a branch or an app it did not create for that resource, and never deletes one that another
resource of the stack holds. Update: UpdateApp / UpdateBranch with every property of the template, a
removed one sent as its default, as CloudFormation resets it; a branch's AppId or BranchName change
is a replacement (the new branch first, the old one deleted after the update). A resource recorded
but gone from the emulator is created again. Delete: DeleteApp / DeleteBranch (already gone counts
as deleted). Revert: UpdateApp / UpdateBranch back to the old properties.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import DriverError, ResourceFailed, error_code, error_reason
from amplify_sandbox.driver.provisioners.base import Provisioner, deletion_policy
from amplify_sandbox.driver.state import ResourceState, StackState
from amplify_sandbox.driver.template import AMPLIFY_APP, AMPLIFY_BRANCH

Props = dict[str, Any]

# CloudFormation property -> Amplify API parameter, for what the local driver passes on
_APP_PROPS = {
    "Name": "name",
    "Description": "description",
    "Platform": "platform",
    "BuildSpec": "buildSpec",
    "CustomHeaders": "customHeaders",
    "EnableBranchAutoDeletion": "enableBranchAutoDeletion",
    "IAMServiceRole": "iamServiceRoleArn",
}
_BRANCH_PROPS = {
    "Description": "description",
    "Stage": "stage",
    "Framework": "framework",
    "EnableAutoBuild": "enableAutoBuild",
    "EnablePullRequestPreview": "enablePullRequestPreview",
    "EnablePerformanceMode": "enablePerformanceMode",
    "BuildSpec": "buildSpec",
}
_BRANCH_REPLACEMENT = ("AppId", "BranchName")

# what UpdateApp/UpdateBranch are sent for a property removed from the template: its default
# (a removed Stage is left as it is: the API has no value for "no stage")
_APP_CLEARED = {
    "Description": ("description", ""),
    "Platform": ("platform", "WEB"),
    "BuildSpec": ("buildSpec", ""),
    "CustomHeaders": ("customHeaders", ""),
    "EnableBranchAutoDeletion": ("enableBranchAutoDeletion", False),
    "IAMServiceRole": ("iamServiceRoleArn", ""),
    "EnvironmentVariables": ("environmentVariables", {}),
    "CustomRules": ("customRules", []),
    "BasicAuthConfig": ("enableBasicAuth", False),
}
_BRANCH_CLEARED = {
    "Description": ("description", ""),
    "Framework": ("framework", ""),
    "EnableAutoBuild": ("enableAutoBuild", True),
    "EnablePullRequestPreview": ("enablePullRequestPreview", False),
    "EnablePerformanceMode": ("enablePerformanceMode", False),
    "BuildSpec": ("buildSpec", ""),
    "EnvironmentVariables": ("environmentVariables", {}),
    "BasicAuthConfig": ("enableBasicAuth", False),
}


def _name_value_map(items: Any, key: str = "Name") -> dict[str, str]:
    if not isinstance(items, list):
        return {}
    return {str(i.get(key)): str(i.get("Value", "")) for i in items if isinstance(i, dict)}


def _sync_tags(client: Any, arn: str, old: Any, new: Any) -> None:
    """Changed ``Tags`` on update, as CloudFormation applies them: TagResource for the new or changed
    keys, UntagResource for the removed ones (UpdateApp/UpdateBranch take no tags)."""
    before, after = _name_value_map(old, "Key"), _name_value_map(new, "Key")
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    removed = sorted(set(before) - set(after))
    if changed:
        client.tag_resource(resourceArn=arn, tags=changed)
    if removed:
        client.untag_resource(resourceArn=arn, tagKeys=removed)


def _basic_auth(params: dict[str, Any], config: Any) -> None:
    """BasicAuthConfig {EnableBasicAuth, Username, Password} -> enableBasicAuth, basicAuthCredentials."""
    if not isinstance(config, dict):
        return
    enabled = config.get("EnableBasicAuth", True)
    params["enableBasicAuth"] = enabled is True or str(enabled).lower() == "true"
    if "Username" in config or "Password" in config:
        pair = f"{config.get('Username', '')}:{config.get('Password', '')}"
        params["basicAuthCredentials"] = base64.b64encode(pair.encode()).decode()


def _params(
    props: dict[str, Any],
    previous: dict[str, Any] | None,
    names: dict[str, str],
    cleared: dict[str, tuple[str, Any]],
) -> dict[str, Any]:
    """API parameters from CloudFormation properties; with ``previous`` (an update), removed
    properties are reset to their defaults."""
    params: dict[str, Any] = {}
    for cfn, (api, default) in cleared.items():
        if previous is not None and cfn in previous and cfn not in props:
            params[api] = default
            if cfn == "BasicAuthConfig":
                params["basicAuthCredentials"] = ""
    params.update({api: props[cfn] for cfn, api in names.items() if cfn in props})
    if "EnvironmentVariables" in props:
        params["environmentVariables"] = _name_value_map(props["EnvironmentVariables"])
    return params


def app_params(props: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateApp/UpdateApp parameters; with ``previous`` (an update), removed properties are reset."""
    params = _params(props, previous, _APP_PROPS, _APP_CLEARED)
    if "CustomRules" in props and isinstance(props["CustomRules"], list):
        params["customRules"] = [
            {k[0].lower() + k[1:]: v for k, v in rule.items()} for rule in props["CustomRules"]
        ]
    _basic_auth(params, props.get("BasicAuthConfig"))
    return params


def branch_params(props: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateBranch/UpdateBranch parameters; with ``previous`` (an update), removed properties are reset."""
    params = _params(props, previous, _BRANCH_PROPS, _BRANCH_CLEARED)
    _basic_auth(params, props.get("BasicAuthConfig"))
    return params


def branches_of(state: StackState) -> list[tuple[str, str]]:
    """(app id, branch name) of every Amplify branch of a recorded stack, in provisioning order."""
    found = []
    for lid in state.order or list(state.resources):
        res = state.resources.get(lid)
        if res and res.type == AMPLIFY_BRANCH:
            app_id = res.properties.get("AppId")
            name = res.properties.get("BranchName")
            if isinstance(app_id, str) and isinstance(name, str):
                found.append((app_id, name))
    return found


def holder_of_branch(run: StackRun, app_id: str, name: str, *, besides: str) -> tuple[str, str] | None:
    """(stack id, logical id) of a resource of a recorded stack, or of this run, other than ``besides``
    of this stack, that holds branch ``name`` of app ``app_id``; None when no stack holds it."""

    def holds(res: ResourceState) -> bool:
        return res.type == AMPLIFY_BRANCH and (
            res.properties.get("AppId"),
            res.properties.get("BranchName"),
        ) == (app_id, name)

    mine = {**(run.old.resources if run.old else {}), **run.new.resources}
    for lid, res in mine.items():
        if lid != besides and holds(res):
            return run.stack_id, lid
    for stack_name in run.ctx.store.stack_names():
        if stack_name == run.stack_name:
            continue
        other = run.ctx.store.load(stack_name)
        for lid, res in (other.resources if other else {}).items():
            if holds(res):
                return other.stack_id if other else stack_name, lid
    return None


def already_exists_reason(run: StackRun, lid: str, app_id: str, name: str, exc: BaseException) -> str:
    """CloudFormation's words for a create that meets an existing branch name: ``<name> already
    exists in stack <stack id>`` when a stack holds it, else Amplify's answer as a resource handler's
    AlreadyExists. The useful part first (CloudFormation shows ~240 characters)."""
    holder = holder_of_branch(run, app_id, name, besides=lid)
    if holder is not None:
        stack_id, other = holder
        return (
            f"{name} already exists in stack {stack_id} (branch of app {app_id}, held by {other}); "
            "rename one of them"
        )
    message = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Message", "")) or str(exc)
    return (
        f'Resource handler returned message: "{message}" (HandlerErrorCode: AlreadyExists); '
        "no stack holds it: delete that branch or rename this one"
    )


class _AmplifyProvisioner(Provisioner):
    """The story both share; the App and Branch classes say which API calls it takes."""

    kind = "amplify"
    needs_supported_dependencies = True

    # ---- per type: the API operations, the parameters that name the resource, the others
    get_operation: ClassVar[str]
    update_operation: ClassVar[str]
    delete_operation: ClassVar[str]

    def _create_call(self, run: StackRun, lid: str, props: Props, params: Props) -> ResourceState:
        """CreateApp/CreateBranch with ``params`` (from ``props``); the new resource's identity."""
        raise NotImplementedError

    def _key(self, res: ResourceState) -> dict[str, Any]:
        """The parameters naming a recorded resource (``appId``, ``branchName``)."""
        raise NotImplementedError

    def _params(self, props: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """Create (``current`` None) or update parameters from the template's properties."""
        raise NotImplementedError

    def _replaced_by(self, old_res: ResourceState, props: dict[str, Any]) -> bool:
        return False

    def _updated_attributes(self, old_res: ResourceState, props: dict[str, Any]) -> dict[str, Any]:
        return dict(old_res.attributes)

    # ---- the steps
    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        self._create(run, lid, resource, run.resolve_props(lid, resource))

    def _create(self, run: StackRun, lid: str, resource: dict[str, Any], props: dict[str, Any]) -> None:
        rtype = resource["Type"]
        try:
            params = self._params(props, None)
            if "Tags" in props:
                params["tags"] = _name_value_map(props["Tags"], "Key")
            state = self._create_call(run, lid, props, params)
        except (DriverError, ResourceFailed):
            raise
        except Exception as exc:
            reason = error_reason(exc)
            run.event(lid, rtype, "CREATE_FAILED", reason)
            raise ResourceFailed(lid, reason) from exc
        state.type = rtype
        state.properties = props
        state.depends_on = run.depends(lid)
        state.deletion_policy = deletion_policy(resource)
        run.record(lid, state, None, "created")
        run.event(lid, rtype, "CREATE_COMPLETE", physical=state.attributes.get("AppId") or state.physical_id)

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        rtype = resource["Type"]
        props = run.resolve_props(lid, resource)
        if self._replaced_by(old_res, props):
            run.delete_after_success(lid, old_res)  # the new one first, the old deleted at cleanup
            self._create(run, lid, resource, props)
            return
        if not self._exists(run, old_res):
            run.log(
                f"{run.stack_name} | {lid}: {old_res.physical_id} is gone from the emulator; "
                "creating it again"
            )
            self._create(run, lid, resource, props)
            return
        policy = deletion_policy(resource)
        if old_res.properties == props:
            run.keep(lid, rtype, old_res, deletion_policy=policy, properties=props)
            return
        self._update(run, lid, rtype, props, old_res.properties, old_res)
        state = ResourceState(
            type=rtype,
            physical_id=old_res.physical_id,
            ref=old_res.ref,
            attributes=self._updated_attributes(old_res, props),
            properties=props,
            depends_on=run.depends(lid),
            deletion_policy=policy,
        )
        run.record(lid, state, old_res, "updated")
        run.event(lid, rtype, "UPDATE_COMPLETE", physical=old_res.physical_id)

    def _update(
        self,
        run: StackRun,
        lid: str,
        rtype: str,
        props: dict[str, Any],
        current: dict[str, Any],
        old_res: ResourceState,
    ) -> None:
        """UpdateApp/UpdateBranch from the ``current`` properties to ``props`` (removed ones reset)."""
        try:
            client = run.ctx.client("amplify")
            getattr(client, self.update_operation)(**self._key(old_res), **self._params(props, current))
            _sync_tags(client, old_res.physical_id, current.get("Tags"), props.get("Tags"))
        except Exception as exc:
            reason = error_reason(exc)
            run.event(lid, rtype, "UPDATE_FAILED", reason)
            raise ResourceFailed(lid, reason) from exc

    def _exists(self, run: StackRun, old_res: ResourceState) -> bool:
        try:
            getattr(run.ctx.client("amplify"), self.get_operation)(**self._key(old_res))
            return True
        except Exception as exc:
            if error_code(exc) == "NotFoundException":
                return False
            raise

    def delete(
        self, run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState
    ) -> None:
        holder = self._held_by_another(run, lid, res) if not rollback else None
        if holder is not None:
            # only a state written by an older driver that adopted a branch can get here
            run.log(
                f"{run.stack_name} | {lid}: not deleting {res.physical_id}: {holder} of the stack holds it"
            )
            return
        try:
            getattr(run.ctx.client("amplify"), self.delete_operation)(**self._key(res))
        except Exception as exc:
            if error_code(exc) != "NotFoundException":  # already gone: nothing left to delete
                reason = error_reason(exc)
                run.event(lid, res.type, "DELETE_FAILED", reason, res.physical_id)
                raise ResourceFailed(lid, reason) from exc

    def _held_by_another(self, run: StackRun, lid: str, res: ResourceState) -> str | None:
        """The logical id of another resource this run keeps that names the same app or branch."""
        key = self._key(res)
        for other, kept in run.new.resources.items():
            if other != lid and kept.type == res.type and self._key(kept) == key:
                return other
        return None

    def revert(
        self, run: StackRun, lid: str, old: ResourceState, new: ResourceState | None, functions: StackState
    ) -> None:
        current = new.properties if new is not None else {}
        self._update(run, lid, old.type, old.properties, current, old)
        run.event(lid, old.type, "UPDATE_COMPLETE", "rolled back", old.physical_id)


class AmplifyAppProvisioner(_AmplifyProvisioner):
    types: ClassVar[frozenset[str]] = frozenset({AMPLIFY_APP})
    get_operation, update_operation, delete_operation = "get_app", "update_app", "delete_app"

    def _create_call(self, run: StackRun, lid: str, props: Props, params: Props) -> ResourceState:
        for unsupported in ("Repository", "AccessToken", "OauthToken"):
            if unsupported in props:
                raise DriverError(
                    f"Resources.{lid}.Properties.{unsupported}: Git-connected Amplify apps "
                    "are not supported locally (manual deployments need an app without one)"
                )
        app = run.ctx.client("amplify").create_app(**params)["app"]
        attrs = {
            "AppId": app["appId"],
            "AppName": app.get("name", props.get("Name")),
            "Arn": app["appArn"],
            "DefaultDomain": app.get("defaultDomain", f"{app['appId']}.amplifyapp.com"),
        }
        return ResourceState(type=AMPLIFY_APP, physical_id=app["appArn"], ref=app["appArn"], attributes=attrs)

    def _key(self, res: ResourceState) -> dict[str, Any]:
        return {"appId": res.attributes["AppId"]}

    def _params(self, props: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        return app_params(props, current)

    def _updated_attributes(self, old_res: ResourceState, props: dict[str, Any]) -> dict[str, Any]:
        attrs = dict(old_res.attributes)
        if isinstance(props.get("Name"), str):
            attrs["AppName"] = props["Name"]  # a rename is in place: Fn::GetAtt AppName follows
        return attrs


class AmplifyBranchProvisioner(_AmplifyProvisioner):
    types: ClassVar[frozenset[str]] = frozenset({AMPLIFY_BRANCH})
    get_operation, update_operation, delete_operation = "get_branch", "update_branch", "delete_branch"

    def _create_call(self, run: StackRun, lid: str, props: Props, params: Props) -> ResourceState:
        app_id, name = props.get("AppId"), props.get("BranchName")
        try:
            created = run.ctx.client("amplify").create_branch(appId=app_id, branchName=name, **params)
        except Exception as exc:
            if error_code(exc) == "BadRequestException" and "already exists" in str(exc):
                reason = already_exists_reason(run, lid, str(app_id), str(name), exc)
                run.event(lid, AMPLIFY_BRANCH, "CREATE_FAILED", reason)
                raise ResourceFailed(lid, reason) from exc
            raise
        branch = created["branch"]
        arn = branch["branchArn"]
        attrs = {"Arn": arn, "BranchName": branch["branchName"]}
        return ResourceState(type=AMPLIFY_BRANCH, physical_id=arn, ref=arn, attributes=attrs)

    def _key(self, res: ResourceState) -> dict[str, Any]:
        # AppId and BranchName are the same in the template (else the branch is replaced)
        return {"appId": res.properties["AppId"], "branchName": res.properties["BranchName"]}

    def _params(self, props: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        return branch_params(props, current)

    def _replaced_by(self, old_res: ResourceState, props: dict[str, Any]) -> bool:
        return any(old_res.properties.get(p) != props.get(p) for p in _BRANCH_REPLACEMENT)
