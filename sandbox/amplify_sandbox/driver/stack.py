"""The local stack driver: a small local CloudFormation for CDK apps that use amplify_deployment.

``LocalStack(app_dir, sandbox).deploy()`` synthesizes the app, publishes its file assets to the
sandbox's S3, provisions AWS::Amplify::App/Branch in the emulator, records Lambda functions, runs
custom resources' handlers as Lambda would (subprocess, CloudFormation event, HTTPS ResponseURL),
keeps state in APP_DIR/.amplify-sandbox/ so the next run updates, and rolls back a failed update as
CloudFormation does. ``.destroy()`` sends Delete to custom resources and forgets the stack.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import secrets
import shutil
import string
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_sandbox.driver import assets as assets_mod
from amplify_sandbox.driver import lambda_runner
from amplify_sandbox.driver.receiver import ResponseReceiver, redact
from amplify_sandbox.driver.resolver import (
    NO_VALUE,
    ResolveContext,
    ResolveError,
    pseudo_parameters,
    resolve,
    stringify_scalars,
)
from amplify_sandbox.driver.state import ResourceState, StackState, StateStore
from amplify_sandbox.driver.synth import CloudAssembly, FileAsset, StackArtifact, SynthError, synthesize
from amplify_sandbox.driver.template import (
    AMPLIFY_APP,
    AMPLIFY_BRANCH,
    TemplateError,
    dependency_graph,
    is_custom_resource,
    kind,
    provision_order,
    ref_target,
    retry_attempts,
    transitive_dependencies,
)

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
STATE_DIR_NAME = ".amplify-sandbox"


class DriverError(Exception):
    """The driver cannot go on (bad template, unsupported resource, synth failure...)."""


class ResourceFailed(Exception):
    def __init__(self, logical_id: str, reason: str, physical_id: str | None = None) -> None:
        self.logical_id = logical_id
        self.reason = reason
        self.physical_id = physical_id
        super().__init__(f"{logical_id}: {reason}")


@dataclass
class CustomResourceRequest:
    """One request sent to a custom resource's handler, and how it ended."""

    logical_id: str
    request_type: str  # Create | Update | Delete
    physical_resource_id: str | None  # sent (Update/Delete)
    resource_properties: dict[str, Any]
    old_resource_properties: dict[str, Any] | None
    status: str = "FAILED"  # SUCCESS | FAILED
    reason: str = ""
    response_physical_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    rollback: bool = False


@dataclass
class ResourceEvent:
    logical_id: str
    resource_type: str
    status: str  # CREATE_COMPLETE, UPDATE_FAILED, ...
    reason: str = ""
    physical_id: str | None = None


@dataclass
class StackResult:
    stack_name: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    events: list[ResourceEvent] = field(default_factory=list)
    requests: list[CustomResourceRequest] = field(default_factory=list)
    branches: list[tuple[str, str]] = field(default_factory=list)  # (app id, branch name)
    changed: bool = True

    @property
    def ok(self) -> bool:
        return self.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")


@dataclass
class DeployResult:
    stacks: list[StackResult] = field(default_factory=list)
    error: str | None = None  # a failure before any stack was touched (synth, assets, template)

    @property
    def ok(self) -> bool:
        return self.error is None and all(s.ok for s in self.stacks)

    @property
    def outputs(self) -> dict[str, Any]:
        """All stacks' outputs, ``{"OutputKey": value}`` (later stacks win on a clash)."""
        merged: dict[str, Any] = {}
        for stack in self.stacks:
            merged.update(stack.outputs)
        return merged

    @property
    def requests(self) -> list[CustomResourceRequest]:
        return [r for s in self.stacks for r in s.requests]

    @property
    def branches(self) -> list[tuple[str, str]]:
        return [b for s in self.stacks for b in s.branches]

    def stack(self, name: str) -> StackResult:
        for stack in self.stacks:
            if stack.stack_name == name:
                return stack
        raise KeyError(name)


def _suffix(n: int = 13) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(n))


def _generated_name(stack_name: str, logical_id: str, max_len: int = 64) -> str:
    suffix = _suffix()
    head = f"{stack_name}-{logical_id}"[: max_len - len(suffix) - 1]
    return f"{head}-{suffix}"


class LocalStack:
    """Deploy / update / destroy a CDK app's stacks against a running :class:`amplify_sandbox.Sandbox`.

    ``app_dir``: the folder with cdk.json. ``sandbox``: a started Sandbox (its ``client()``, ``env()``
    and ``emulator`` are used). ``state_dir``: default APP_DIR/.amplify-sandbox. ``log``: where
    progress lines go (default print). ``account``/``region``: the pseudo parameters (default the
    sandbox's, else 123456789012 / us-east-1).
    """

    def __init__(
        self,
        app_dir: str | Path,
        sandbox: Any,
        *,
        state_dir: str | Path | None = None,
        log: Callable[[str], None] | None = None,
        account: str | None = None,
        region: str | None = None,
        outdir: str | Path | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.sandbox = sandbox
        self.state_dir = Path(state_dir).resolve() if state_dir else self.app_dir / STATE_DIR_NAME
        self.store = StateStore(self.state_dir)
        self._print = log or (lambda line: print(line, flush=True))
        self._log_lock = threading.Lock()
        self.account = account or getattr(sandbox, "account_id", None) or DEFAULT_ACCOUNT
        self.region = region or getattr(sandbox, "region", None) or _env_region(sandbox) or DEFAULT_REGION
        self.outdir = Path(outdir).resolve() if outdir else None
        self._receiver: ResponseReceiver | None = None
        self._published: dict[tuple[str, str], FileAsset] = {}
        self.assembly: CloudAssembly | None = None

    # ------------------------------------------------------------------ helpers
    def log(self, line: str) -> None:
        with self._log_lock:
            self._print(line)

    def function_env(self) -> dict[str, str]:
        """The sandbox's variables for a function: its endpoints and fake credentials. Services other
        than Amplify and S3 go to the moto server too (AWS_ENDPOINT_URL), never to AWS."""
        env = {str(k): str(v) for k, v in self.sandbox.env().items()}
        if "AWS_ENDPOINT_URL_S3" in env:
            env.setdefault("AWS_ENDPOINT_URL", env["AWS_ENDPOINT_URL_S3"])
        return env

    def _amplify(self) -> Any:
        return self.sandbox.client("amplify")

    def _s3(self) -> Any:
        return self.sandbox.client("s3")

    def _start_receiver(self) -> ResponseReceiver:
        if self._receiver is None:
            self._receiver = ResponseReceiver(self.state_dir / "tls", region=self.region)
            self._receiver.start()
        return self._receiver

    def _stop_receiver(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()
            self._receiver = None

    # ------------------------------------------------------------------ public API
    def synth(self) -> CloudAssembly:
        self.assembly = synthesize(
            self.app_dir, self.outdir, account=self.account, region=self.region, log=self.log
        )
        return self.assembly

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One deploy or destroy at a time per state folder (an advisory lock on .amplify-sandbox/lock)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DriverError(
                    f"another deploy or destroy is running on {self.state_dir}; wait for it to finish"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def deploy(self, stack_names: list[str] | None = None) -> DeployResult:
        """Synthesize, publish assets, then create or update every stack (or the named ones)."""
        return self._locked("deploy", self._deploy, stack_names)

    def _locked(
        self, what: str, run: Callable[[list[str] | None], DeployResult], stack_names: list[str] | None
    ) -> DeployResult:
        """Run a deploy or destroy holding the state folder's lock; a refused lock is the result's error."""
        try:
            with self._exclusive():
                return run(stack_names)
        except DriverError as exc:
            self.log(f"{what} failed: {exc}")
            return DeployResult(error=str(exc))

    def _deploy(self, stack_names: list[str] | None) -> DeployResult:
        result = DeployResult()
        try:
            assembly = self.synth()
            stacks = [assembly.stack(n) for n in stack_names] if stack_names else assembly.stacks
            if not stacks:
                raise DriverError(f"the app in {self.app_dir} defines no stacks")
            self._restore_cached_assets()
            for stack in stacks:
                if stack.docker_images:
                    self.log(f"assets: {stack.stack_name}: docker image assets are not supported (ignored)")
                self._published.update(self._publish(stack))
        except Exception as exc:  # synth, assets: nothing deployed yet
            result.error = (
                str(exc)
                if isinstance(exc, (SynthError, DriverError, assets_mod.AssetError))
                else f"{type(exc).__name__}: {exc}"
            )
            self.log(f"deploy failed: {exc}")
            return result
        try:
            for stack in stacks:
                stack_result = self._deploy_stack(stack)
                result.stacks.append(stack_result)
                if not stack_result.ok:
                    break
        finally:
            self._stop_receiver()
        return result

    def destroy(self, stack_names: list[str] | None = None) -> DeployResult:
        """Delete every stack the state knows (or the named ones), dependents first."""
        return self._locked("destroy", self._destroy, stack_names)

    def _destroy(self, stack_names: list[str] | None) -> DeployResult:
        result = DeployResult()
        names = stack_names or list(reversed(self.store.stack_names()))
        try:
            for name in names:
                state = self.store.load(name)
                if state is None:
                    self.log(f"{name}: no deployed stack of that name in {self.store.stacks_dir}")
                    continue
                result.stacks.append(self._destroy_stack(state))
        finally:
            self._stop_receiver()
        return result

    def stack_state(self, stack_name: str) -> StackState | None:
        return self.store.load(stack_name)

    def site_urls(self, result: DeployResult | None = None) -> list[tuple[str, str, str]]:
        """(app id, branch, local URL) of every branch of the deployed stacks."""
        branches: list[tuple[str, str]] = []
        if result is not None:
            branches = result.branches
        else:
            for name in self.store.stack_names():
                state = self.store.load(name)
                if state:
                    branches.extend(_branches_of(state))
        urls = []
        for app_id, branch in branches:
            try:
                urls.append((app_id, branch, self.sandbox.emulator.site_url(app_id, branch)))
            except KeyError:
                continue
        return urls

    # ------------------------------------------------------------------ assets
    def _asset_cache(self) -> Path:
        return self.state_dir / "assets"

    def _restore_cached_assets(self) -> None:
        """moto keeps S3 in memory: put back the assets earlier runs published (a rollback or a later
        update may need an older asset after a restart)."""
        cache = self._asset_cache()
        if not cache.is_dir():
            return
        s3 = self._s3()
        for bucket_dir in sorted(p for p in cache.iterdir() if p.is_dir()):
            for obj in sorted(p for p in bucket_dir.rglob("*") if p.is_file()):
                key = obj.relative_to(bucket_dir).as_posix()
                if not assets_mod._exists(s3, bucket_dir.name, key):
                    assets_mod._ensure_bucket(s3, bucket_dir.name, self.region)
                    s3.upload_file(str(obj), bucket_dir.name, key)

    def _publish(self, stack: StackArtifact) -> dict[tuple[str, str], FileAsset]:
        s3 = self._s3()
        published = assets_mod.publish_assets(
            stack.assets,
            s3,
            account=self.account,
            region=self.region,
            work_dir=self.state_dir / "tmp",
            log=self.log,
            keep_dir=self._asset_cache(),
        )
        return published

    # ------------------------------------------------------------------ deploy one stack
    def _deploy_stack(self, artifact: StackArtifact) -> StackResult:
        template = artifact.template
        resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
        old = self.store.load(artifact.stack_name)
        stack_id = (
            old.stack_id
            if old
            else (
                f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{artifact.stack_name}/{uuid.uuid4()}"
            )
        )
        creating = old is None or not old.resources
        result = StackResult(stack_name=artifact.stack_name, status="")
        verb = "CREATE" if creating else "UPDATE"
        self.log(f"{artifact.stack_name}: {verb}_IN_PROGRESS")

        try:
            order = provision_order(resources)
            graph = dependency_graph(resources)
            self._check_supported(resources, graph)
            retries = retry_attempts(resources)
        except (TemplateError, DriverError) as exc:
            # refused before anything was touched (the state stays as it was)
            result.status = f"{verb}_FAILED"
            result.reason = str(exc)
            self.log(f"{artifact.stack_name}: {verb}_FAILED: {result.reason}")
            return result

        run = _StackRun(self, artifact, old, stack_id, graph, retries, result)
        return run.deploy(order)

    def _check_supported(self, resources: dict[str, dict[str, Any]], graph: dict[str, set[str]]) -> None:
        unsupported = {lid for lid, res in resources.items() if kind(res.get("Type", "")) == "unsupported"}
        for lid, res in resources.items():
            rtype = res.get("Type", "")
            k = kind(rtype)
            if k == "unsupported":
                continue
            if "Condition" in res and k != "passive":
                raise DriverError(
                    f"Resources.{lid}: the Condition {res['Condition']!r} on a {rtype} is not "
                    "supported by the local driver"
                )
            if k in ("custom", "amplify"):
                bad = sorted(transitive_dependencies(graph, lid) & unsupported)
                if bad:
                    named = ", ".join(f"{b} ({resources[b]['Type']})" for b in bad)
                    raise DriverError(
                        f"{lid} ({rtype}) depends on {named}: "
                        "a resource type the local driver does not support (it provisions AWS::Amplify::App, "
                        "AWS::Amplify::Branch, AWS::Lambda::Function and custom resources)"
                    )
            if k == "custom":
                token = (res.get("Properties") or {}).get("ServiceToken")
                target = ref_target(token)
                fn = resources.get(target or "")
                if fn is None or fn.get("Type") != "AWS::Lambda::Function":
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

    # ------------------------------------------------------------------ destroy one stack
    def _destroy_stack(self, state: StackState) -> StackResult:
        result = StackResult(stack_name=state.stack_name, status="DELETE_IN_PROGRESS")
        self.log(f"{state.stack_name}: DELETE_IN_PROGRESS")
        run = _StackRun(self, None, state, state.stack_id, {}, {}, result)
        return run.destroy()


def _env_region(sandbox: Any) -> str | None:
    try:
        return sandbox.env().get("AWS_REGION")
    except Exception:
        return None


def _branches_of(state: StackState) -> list[tuple[str, str]]:
    found = []
    for lid in state.order or list(state.resources):
        res = state.resources.get(lid)
        if res and res.type == AMPLIFY_BRANCH:
            app_id = res.properties.get("AppId")
            name = res.properties.get("BranchName")
            if isinstance(app_id, str) and isinstance(name, str):
                found.append((app_id, name))
    return found


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


def _basic_auth(params: dict[str, Any], config: Any) -> None:
    """BasicAuthConfig {EnableBasicAuth, Username, Password} -> enableBasicAuth, basicAuthCredentials."""
    if not isinstance(config, dict):
        return
    enabled = config.get("EnableBasicAuth", True)
    params["enableBasicAuth"] = enabled is True or str(enabled).lower() == "true"
    if "Username" in config or "Password" in config:
        pair = f"{config.get('Username', '')}:{config.get('Password', '')}"
        params["basicAuthCredentials"] = base64.b64encode(pair.encode()).decode()


def _app_params(props: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateApp/UpdateApp parameters; with ``previous`` (an update), removed properties are reset."""
    params: dict[str, Any] = {}
    for cfn, (api, default) in _APP_CLEARED.items():
        if previous is not None and cfn in previous and cfn not in props:
            params[api] = default
            if cfn == "BasicAuthConfig":
                params["basicAuthCredentials"] = ""
    params.update({api: props[cfn] for cfn, api in _APP_PROPS.items() if cfn in props})
    if "EnvironmentVariables" in props:
        params["environmentVariables"] = _name_value_map(props["EnvironmentVariables"])
    if "CustomRules" in props and isinstance(props["CustomRules"], list):
        params["customRules"] = [
            {k[0].lower() + k[1:]: v for k, v in rule.items()} for rule in props["CustomRules"]
        ]
    _basic_auth(params, props.get("BasicAuthConfig"))
    return params


def _branch_params(props: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateBranch/UpdateBranch parameters; with ``previous`` (an update), removed properties are reset."""
    params: dict[str, Any] = {}
    for cfn, (api, default) in _BRANCH_CLEARED.items():
        if previous is not None and cfn in previous and cfn not in props:
            params[api] = default
            if cfn == "BasicAuthConfig":
                params["basicAuthCredentials"] = ""
    params.update({api: props[cfn] for cfn, api in _BRANCH_PROPS.items() if cfn in props})
    if "EnvironmentVariables" in props:
        params["environmentVariables"] = _name_value_map(props["EnvironmentVariables"])
    _basic_auth(params, props.get("BasicAuthConfig"))
    return params


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))


class _StackRun:
    """One deploy or destroy of one stack."""

    def __init__(
        self,
        driver: LocalStack,
        artifact: StackArtifact | None,
        old: StackState | None,
        stack_id: str,
        graph: dict[str, set[str]],
        retries: dict[str, int],
        result: StackResult,
    ) -> None:
        self.d = driver
        self.artifact = artifact
        self.old = old
        self.stack_name = artifact.stack_name if artifact else (old.stack_name if old else "")
        self.stack_id = stack_id
        self.graph = graph
        self.retries = retries
        self.result = result
        self.template_resources: dict[str, dict[str, Any]] = (
            (artifact.template.get("Resources") or {}) if artifact else {}
        )
        self.new = StackState(stack_name=self.stack_name, stack_id=stack_id)
        self.journal: list[tuple[str, str, ResourceState | None, ResourceState | None]] = []
        self.cleanup: list[
            tuple[str, ResourceState]
        ] = []  # (logical id, old resource) to delete after success
        self.pseudo = pseudo_parameters(
            account=driver.account, region=driver.region, stack_name=self.stack_name, stack_id=stack_id
        )

    # ---------------------------------------------------------------- logging
    def log(self, line: str) -> None:
        self.d.log(line)

    def event(
        self, logical_id: str, rtype: str, status: str, reason: str = "", physical: str | None = None
    ) -> None:
        self.result.events.append(ResourceEvent(logical_id, rtype, status, reason, physical))
        text = f"{self.stack_name} | {logical_id} ({rtype}) {status}"
        if physical and status.endswith("COMPLETE"):
            text += f" {physical}"
        if reason:
            text += f": {reason}"
        self.log(text)

    # ---------------------------------------------------------------- resolution
    def context(self) -> ResolveContext:
        refs: dict[str, Any] = {}
        attrs: dict[str, dict[str, Any]] = {}
        for lid, res in self.new.resources.items():
            refs[lid] = res.ref
            attrs[lid] = res.attributes
        params = (self.artifact.template.get("Parameters") or {}) if self.artifact else {}
        for name, param in params.items():
            if "Default" in param and not str(param.get("Type", "")).startswith("AWS::SSM::"):
                refs.setdefault(name, param["Default"])
        types = {lid: res.get("Type", "?") for lid, res in self.template_resources.items()}
        return ResolveContext(
            pseudo=self.pseudo,
            refs=refs,
            attributes=attrs,
            types=types,
            declared=set(self.template_resources) | set(params),
        )

    def resolve_props(self, logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        props = resolve(
            resource.get("Properties") or {}, self.context(), f"Resources.{logical_id}.Properties"
        )
        return props if props is not NO_VALUE else {}

    def save(self, status: str) -> None:
        merged = self.old.copy() if self.old else StackState(self.stack_name, self.stack_id)
        merged.stack_id = self.stack_id
        merged.status = status
        for lid, res in self.new.resources.items():
            merged.resources[lid] = res
            if lid not in merged.order:
                merged.order.append(lid)
        self.d.store.save(merged)

    # ---------------------------------------------------------------- deploy
    def deploy(self, order: list[str]) -> StackResult:
        creating = self.old is None or not self.old.resources
        verb = "CREATE" if creating else "UPDATE"
        failure: ResourceFailed | None = None
        for lid in order:
            res = self.template_resources[lid]
            try:
                self.provision(lid, res)
            except ResourceFailed as exc:
                failure = exc
                break
            except (ResolveError, DriverError, assets_mod.AssetError) as exc:
                failure = ResourceFailed(lid, str(exc))
                self.event(lid, res.get("Type", "?"), f"{verb}_FAILED", str(exc))
                break
            except Exception as exc:  # the emulator unreachable, a bug: fail the resource, roll back
                reason = f"{type(exc).__name__}: {exc}"
                failure = ResourceFailed(lid, reason)
                self.event(lid, res.get("Type", "?"), f"{verb}_FAILED", reason)
                break
            self.new.order.append(lid)
            self.save(f"{verb}_IN_PROGRESS")

        if failure is not None:
            self.result.reason = f"{failure.logical_id}: {failure.reason}"
            return self.rollback(creating, failure)

        # cleanup: resources gone from the template, and old physical resources that were replaced
        removed = [
            lid for lid in reversed(self.old.order if self.old else []) if lid not in self.template_resources
        ]
        for lid in removed:
            old_res = self.old.resources.get(lid) if self.old else None
            if old_res is not None:
                self.cleanup.append((lid, old_res))
        for lid, old_res in self.cleanup:
            try:
                self.delete_resource(lid, old_res, rollback=False)
            except ResourceFailed as exc:
                self.log(f"{self.stack_name} | {lid}: cleanup failed (left in place): {exc.reason}")

        self.new.outputs = self.outputs()
        changed = bool(self.result.requests) or any(
            e.status.endswith("COMPLETE") and not e.status.startswith("NO_CHANGE") for e in self.result.events
        )
        status = f"{verb}_COMPLETE"
        if not creating and not changed and self.old is not None:
            status = (
                self.old.status
                if self.old.status.endswith("_COMPLETE") and "ROLLBACK" not in self.old.status
                else "UPDATE_COMPLETE"
            )
        self.new.status = status
        self.d.store.save(self.new)
        self.result.status = status
        self.result.changed = changed or creating
        self.result.outputs = self.new.outputs
        self.result.branches = _branches_of(self.new)
        if not self.result.changed:
            self.log(f"{self.stack_name}: no changes")
        self.print_outputs()
        self.log(f"{self.stack_name}: {status}")
        return self.result

    def outputs(self) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        ctx = self.context()
        for name, output in ((self.artifact.template.get("Outputs") or {}) if self.artifact else {}).items():
            try:
                outputs[name] = resolve(output.get("Value"), ctx, f"Outputs.{name}.Value")
            except ResolveError as exc:
                outputs[name] = None
                self.log(f"{self.stack_name} | output {name} could not be resolved: {exc}")
        return outputs

    def print_outputs(self) -> None:
        if self.new.outputs:
            self.log("Outputs:")
            for name, value in self.new.outputs.items():
                self.log(f"  {self.stack_name}.{name} = {value}")

    def provision(self, lid: str, res: dict[str, Any]) -> None:
        rtype = res.get("Type", "")
        k = kind(rtype)
        old_res = self.old.resources.get(lid) if self.old else None
        if old_res is not None and old_res.type != rtype:
            # a type change is a replacement
            self.cleanup.append((lid, old_res))
            old_res = None
        if k == "passive":
            self.provision_passive(lid, res, old_res)
        elif k == "lambda":
            self.provision_lambda(lid, res, old_res)
        elif k == "amplify":
            self.provision_amplify(lid, res, old_res)
        elif k == "custom":
            self.provision_custom(lid, res, old_res)
        else:
            self.log(
                f"{self.stack_name} | {lid} ({rtype}) SKIPPED: not supported by the local driver, and "
                "nothing the driver provisions depends on it"
            )

    def record(self, lid: str, state: ResourceState, old_res: ResourceState | None, action: str) -> None:
        self.new.resources[lid] = state
        self.journal.append((action, lid, old_res, state))

    def keep(
        self,
        lid: str,
        rtype: str,
        old_res: ResourceState,
        *,
        deletion_policy: str,
        properties: dict[str, Any] | None = None,
    ) -> None:
        """Record a resource that needs no change: its identity as before, its dependencies as now."""
        state = ResourceState(
            type=rtype,
            physical_id=old_res.physical_id,
            ref=old_res.ref,
            attributes=old_res.attributes,
            depends_on=self._depends(lid),
            deletion_policy=deletion_policy,
        )
        if properties is not None:
            state.properties = properties
        self.record(lid, state, old_res, "kept")

    def _depends(self, lid: str) -> list[str]:
        return sorted(self.graph.get(lid, ()))

    # ---- passive
    def provision_passive(self, lid: str, res: dict[str, Any], old_res: ResourceState | None) -> None:
        rtype = res["Type"]
        if old_res is not None:
            self.keep(lid, rtype, old_res, deletion_policy=res.get("DeletionPolicy", "Delete"))
            return
        ref, attrs = self.passive_identity(lid, res)
        state = ResourceState(
            type=rtype,
            physical_id=str(ref),
            ref=ref,
            attributes=attrs,
            depends_on=self._depends(lid),
            deletion_policy=res.get("DeletionPolicy", "Delete"),
        )
        self.record(lid, state, None, "created")
        self.event(lid, rtype, "CREATE_COMPLETE", "accepted without action (local driver)", str(ref))

    def passive_identity(self, lid: str, res: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        rtype = res["Type"]
        props = res.get("Properties") or {}
        acct, region = self.d.account, self.d.region
        if rtype == "AWS::IAM::Role":
            name = (
                props.get("RoleName")
                if isinstance(props.get("RoleName"), str)
                else _generated_name(self.stack_name, lid)
            )
            return name, {"Arn": f"arn:aws:iam::{acct}:role/{name}", "RoleId": "AROA" + _suffix(17)}
        if rtype == "AWS::IAM::ManagedPolicy":
            name = (
                props.get("ManagedPolicyName")
                if isinstance(props.get("ManagedPolicyName"), str)
                else _generated_name(self.stack_name, lid, 128)
            )
            arn = f"arn:aws:iam::{acct}:policy/{name}"
            return arn, {"PolicyArn": arn, "PolicyId": "ANPA" + _suffix(17)}
        if rtype == "AWS::IAM::Policy":
            pid = f"{self.stack_name[:5]}-{lid[:5]}{_suffix(12)}"
            return pid, {"Id": pid}
        if rtype == "AWS::Logs::LogGroup":
            name = (
                props.get("LogGroupName")
                if isinstance(props.get("LogGroupName"), str)
                else _generated_name(self.stack_name, lid, 512)
            )
            return name, {"Arn": f"arn:aws:logs:{region}:{acct}:log-group:{name}:*"}
        if rtype == "AWS::Lambda::EventInvokeConfig":
            return str(uuid.uuid4()), {}
        if rtype == "AWS::Lambda::Permission":
            return f"{self.stack_name}-{lid}-{_suffix()}", {}
        return f"{self.stack_name}-{lid}-{_suffix()}", {}

    # ---- lambda
    def provision_lambda(self, lid: str, res: dict[str, Any], old_res: ResourceState | None) -> None:
        rtype = res["Type"]
        props = self.resolve_props(lid, res)
        name = props.get("FunctionName")
        if not isinstance(name, str):
            name = old_res.physical_id if old_res is not None else _generated_name(self.stack_name, lid)
        arn = f"arn:aws:lambda:{self.d.region}:{self.d.account}:function:{name}"
        runtime = str(props.get("Runtime", ""))
        code_dir = self.function_code(lid, props, runtime)
        env_vars = (props.get("Environment") or {}).get("Variables") or {}
        function = {
            "logical_id": lid,
            "function_name": name,
            "arn": arn,
            "handler": str(props.get("Handler", "")),
            "runtime": runtime,
            "code_dir": _relative_to(code_dir, self.d.state_dir),
            "timeout": int(props.get("Timeout", lambda_runner.DEFAULT_TIMEOUT)),
            "memory_size": int(props.get("MemorySize", lambda_runner.DEFAULT_MEMORY)),
            "environment": {str(k): str(v) for k, v in env_vars.items()},
            "max_retries": self.retries.get(lid, 2),
        }
        if props.get("Layers"):
            self.log(f"{self.stack_name} | {lid}: its Layers are not provided by the local Lambda runtime")
        state = ResourceState(
            type=rtype,
            physical_id=name,
            ref=name,
            attributes={"Arn": arn},
            properties=props,
            depends_on=self._depends(lid),
            deletion_policy=res.get("DeletionPolicy", "Delete"),
            function=function,
        )
        if old_res is not None and old_res.properties == props and old_res.function == function:
            self.record(lid, state, old_res, "kept")
            return
        action = "created" if old_res is None else "updated"
        self.record(lid, state, old_res, action)
        self.event(
            lid,
            rtype,
            "CREATE_COMPLETE" if old_res is None else "UPDATE_COMPLETE",
            f"recorded: {function['handler']}, {runtime}, code {code_dir.name}, timeout "
            f"{function['timeout']} s, {function['memory_size']} MB",
            name,
        )

    def function_code(self, lid: str, props: dict[str, Any], runtime: str) -> Path:
        code = props.get("Code") or {}
        functions_dir = self.d.state_dir / "functions"
        if "ZipFile" in code:
            digest = hashlib.sha256(str(code["ZipFile"]).encode()).hexdigest()[:16]
            return assets_mod.write_inline_code(
                str(code["ZipFile"]), functions_dir / f"inline-{digest}", runtime
            )
        bucket, key = code.get("S3Bucket"), code.get("S3Key")
        asset = assets_mod.bucket_key_lookup(self.d._published, bucket, key)
        if asset is None:
            raise DriverError(
                f"Resources.{lid}.Properties.Code: s3://{bucket}/{key} is not a file asset of the "
                "cloud assembly (the local driver runs code from the app's own assets only)"
            )
        return assets_mod.unpack_code(asset, functions_dir / asset.id)

    # ---- amplify
    def provision_amplify(self, lid: str, res: dict[str, Any], old_res: ResourceState | None) -> None:
        rtype = res["Type"]
        props = self.resolve_props(lid, res)
        policy = res.get("DeletionPolicy", "Delete")
        client = self.d._amplify()
        if (
            rtype == AMPLIFY_BRANCH
            and old_res is not None
            and any(old_res.properties.get(p) != props.get(p) for p in _BRANCH_REPLACEMENT)
        ):
            self.cleanup.append((lid, old_res))  # replacement: the new one first, the old deleted at cleanup
            old_res = None
        if old_res is not None and not self._exists_in_emulator(old_res):
            self.log(
                f"{self.stack_name} | {lid}: {old_res.physical_id} is gone from the emulator; "
                "creating it again"
            )
            old_res = None
        if old_res is not None:
            if old_res.properties == props:
                self.keep(lid, rtype, old_res, deletion_policy=policy, properties=props)
                return
            self.update_amplify(lid, rtype, props, old_res.properties, old_res, client)
            attrs = dict(old_res.attributes)
            if rtype == AMPLIFY_APP and isinstance(props.get("Name"), str):
                attrs["AppName"] = props["Name"]  # a rename is in place: Fn::GetAtt AppName follows
            state = ResourceState(
                type=rtype,
                physical_id=old_res.physical_id,
                ref=old_res.ref,
                attributes=attrs,
                properties=props,
                depends_on=self._depends(lid),
                deletion_policy=policy,
            )
            self.record(lid, state, old_res, "updated")
            self.event(lid, rtype, "UPDATE_COMPLETE", physical=old_res.physical_id)
            return
        try:
            if rtype == AMPLIFY_APP:
                params = _app_params(props)
                if "Tags" in props:
                    params["tags"] = _name_value_map(props["Tags"], "Key")
                for unsupported in ("Repository", "AccessToken", "OauthToken"):
                    if unsupported in props:
                        raise DriverError(
                            f"Resources.{lid}.Properties.{unsupported}: Git-connected Amplify apps "
                            "are not supported locally (manual deployments need an app without one)"
                        )
                app = client.create_app(**params)["app"]
                attrs = {
                    "AppId": app["appId"],
                    "AppName": app.get("name", props.get("Name")),
                    "Arn": app["appArn"],
                    "DefaultDomain": app.get("defaultDomain", f"{app['appId']}.amplifyapp.com"),
                }
                state = ResourceState(
                    type=rtype,
                    physical_id=app["appArn"],
                    ref=app["appArn"],
                    attributes=attrs,
                    properties=props,
                    depends_on=self._depends(lid),
                    deletion_policy=policy,
                )
            else:
                params = _branch_params(props)
                if "Tags" in props:
                    params["tags"] = _name_value_map(props["Tags"], "Key")
                branch = self._create_or_adopt_branch(lid, client, props, params)
                attrs = {"Arn": branch["branchArn"], "BranchName": branch["branchName"]}
                state = ResourceState(
                    type=rtype,
                    physical_id=branch["branchArn"],
                    ref=branch["branchArn"],
                    attributes=attrs,
                    properties=props,
                    depends_on=self._depends(lid),
                    deletion_policy=policy,
                )
        except DriverError:
            raise
        except Exception as exc:
            reason = f"{_error_code(exc) or type(exc).__name__}: {exc}"
            self.event(lid, rtype, "CREATE_FAILED", reason)
            raise ResourceFailed(lid, reason) from exc
        self.record(lid, state, None, "created")
        self.event(lid, rtype, "CREATE_COMPLETE", physical=state.attributes.get("AppId") or state.physical_id)

    def _create_or_adopt_branch(
        self, lid: str, client: Any, props: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        app_id, name = props.get("AppId"), props.get("BranchName")
        try:
            return dict(client.create_branch(appId=app_id, branchName=name, **params)["branch"])
        except Exception as exc:
            if not (_error_code(exc) == "BadRequestException" and "already exists" in str(exc)):
                raise
        # A branch this stack created but did not record (a run interrupted between CreateBranch and
        # the state save), or one made by hand: take it over rather than fail.
        self.log(f"{self.stack_name} | {lid}: branch {name} already exists in app {app_id}; adopting it")
        return dict(client.get_branch(appId=app_id, branchName=name)["branch"])

    def _exists_in_emulator(self, old_res: ResourceState) -> bool:
        client = self.d._amplify()
        try:
            if old_res.type == AMPLIFY_APP:
                client.get_app(appId=old_res.attributes["AppId"])
            else:
                client.get_branch(
                    appId=old_res.properties["AppId"], branchName=old_res.properties["BranchName"]
                )
            return True
        except Exception as exc:
            if _error_code(exc) == "NotFoundException":
                return False
            raise

    def update_amplify(
        self,
        lid: str,
        rtype: str,
        props: dict[str, Any],
        current: dict[str, Any],
        old_res: ResourceState,
        client: Any,
    ) -> None:
        """UpdateApp/UpdateBranch from the ``current`` properties to ``props`` (removed ones reset)."""
        try:
            if rtype == AMPLIFY_APP:
                client.update_app(appId=old_res.attributes["AppId"], **_app_params(props, current))
            else:
                client.update_branch(
                    appId=props["AppId"], branchName=props["BranchName"], **_branch_params(props, current)
                )
        except Exception as exc:
            reason = f"{_error_code(exc) or type(exc).__name__}: {exc}"
            self.event(lid, rtype, "UPDATE_FAILED", reason)
            raise ResourceFailed(lid, reason) from exc

    # ---- custom resources
    def provision_custom(self, lid: str, res: dict[str, Any], old_res: ResourceState | None) -> None:
        rtype = res["Type"]
        props = stringify_scalars(self.resolve_props(lid, res))
        policy = res.get("DeletionPolicy", "Delete")
        fn = self.function_for(lid, props.get("ServiceToken"), self.new)
        if old_res is None:
            request = self.invoke_custom(lid, rtype, "Create", props, None, None, fn)
            if request.status != "SUCCESS":
                self.event(lid, rtype, "CREATE_FAILED", request.reason)
                raise ResourceFailed(lid, request.reason, request.response_physical_id)
            physical = request.response_physical_id or ""
            state = ResourceState(
                type=rtype,
                physical_id=physical,
                ref=physical,
                attributes=dict(request.data),
                properties=props,
                depends_on=self._depends(lid),
                deletion_policy=policy,
            )
            self.record(lid, state, None, "created")
            self.event(lid, rtype, "CREATE_COMPLETE", physical=physical)
            return
        if old_res.properties == props:
            self.keep(lid, rtype, old_res, deletion_policy=policy, properties=props)
            return
        if old_res.properties.get("ServiceToken") != props.get("ServiceToken"):
            reason = "Modifying service token is not allowed."
            self.event(lid, rtype, "UPDATE_FAILED", reason)
            raise ResourceFailed(lid, reason)
        request = self.invoke_custom(lid, rtype, "Update", props, old_res.properties, old_res.physical_id, fn)
        if request.status != "SUCCESS":
            self.event(lid, rtype, "UPDATE_FAILED", request.reason)
            self.journal.append(("failed-update", lid, old_res, None))
            raise ResourceFailed(lid, request.reason)
        physical = request.response_physical_id or old_res.physical_id
        state = ResourceState(
            type=rtype,
            physical_id=physical,
            ref=physical,
            attributes=dict(request.data),
            properties=props,
            depends_on=self._depends(lid),
            deletion_policy=policy,
        )
        if physical != old_res.physical_id:
            self.cleanup.append((lid, old_res))  # a new physical id: CloudFormation deletes the old one
            self.record(lid, state, old_res, "replaced")
        else:
            self.record(lid, state, old_res, "updated")
        self.event(lid, rtype, "UPDATE_COMPLETE", physical=physical)

    def function_for(self, lid: str, token: Any, where: StackState) -> lambda_runner.LambdaFunction:
        for res in where.resources.values():
            if res.function and res.attributes.get("Arn") == token:
                fields = dict(res.function)
                fields["code_dir"] = self.d.state_dir / fields["code_dir"]  # an absolute path stays as is
                if not fields["code_dir"].is_dir():
                    raise DriverError(
                        f"{lid}: the code of {fields['function_name']} is missing ({fields['code_dir']}); "
                        f"deploy again, or delete {self.d.state_dir} to start afresh"
                    )
                return lambda_runner.LambdaFunction(**fields)
        raise DriverError(f"{lid}: ServiceToken {token!r} is not a Lambda function the local driver knows")

    def invoke_custom(
        self,
        lid: str,
        rtype: str,
        request_type: str,
        props: dict[str, Any],
        old_props: dict[str, Any] | None,
        physical_id: str | None,
        fn: lambda_runner.LambdaFunction,
        rollback: bool = False,
    ) -> CustomResourceRequest:
        receiver = self.d._start_receiver()
        request_id = str(uuid.uuid4())
        url = receiver.new_url(self.stack_id, lid, request_id)
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": props.get("ServiceToken", fn.arn),
            "ResponseURL": url,
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": lid,
            "ResourceType": rtype,
            "ResourceProperties": props,
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_props is not None:
            event["OldResourceProperties"] = old_props
        request = CustomResourceRequest(lid, request_type, physical_id, props, old_props, rollback=rollback)
        self.result.requests.append(request)
        self.log(
            f"{self.stack_name} | {lid} ({rtype}) {request_type}{' (rollback)' if rollback else ''}: "
            f"invoking {fn.function_name} ({fn.handler})"
        )
        secrets_ = [url, urlsplit_query_signature(url)]
        prefix = f"    {lid} λ | "

        def on_line(line: str) -> None:
            self.log(prefix + redact(line, secrets_))

        env = lambda_runner.lambda_environment(
            fn,
            region=self.d.region,
            sandbox_env=self.d.function_env(),
            ca_file=receiver.ca_file,
            log_group=f"/aws/lambda/{fn.function_name}",
            log_stream=f"local/[$LATEST]{uuid.uuid4().hex}",
        )
        deps = lambda_runner.runtime_dir(self.d.state_dir / "lambda-runtime")
        attempts = 1 + max(0, fn.max_retries)
        failure = ""
        try:
            for attempt in range(1, attempts + 1):
                # a cold start each time: a private, empty /tmp (TMPDIR), removed afterwards
                tmp_root = self.d.state_dir / "lambda-tmp"
                tmp_root.mkdir(parents=True, exist_ok=True)
                private_tmp = Path(tempfile.mkdtemp(prefix=f"{lid}-", dir=tmp_root))
                env["TMPDIR"] = str(private_tmp)
                try:
                    invocation = lambda_runner.invoke(fn, event, env=env, deps_dir=deps, on_line=on_line)
                finally:
                    shutil.rmtree(private_tmp, ignore_errors=True)
                response = receiver.response_for(url)
                if response is not None:
                    break
                if invocation.errored:
                    failure = f"the function {fn.function_name} failed ({invocation.error})"
                else:
                    failure = f"the function {fn.function_name} returned"
                if invocation.errored and attempt < attempts:
                    self.log(
                        f"{self.stack_name} | {lid}: Lambda retries the asynchronous invocation "
                        f"(attempt {attempt + 1} of {attempts})"
                    )
                    continue
                break
            response = receiver.response_for(url)
        finally:
            receiver.forget(url)
        if response is None:
            request.reason = (
                f"No response from the custom resource handler: {failure} without sending one "
                f"to the ResponseURL (on AWS the stack would wait for the ServiceTimeout, up to "
                f"1 hour, then fail)"
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

    # ---------------------------------------------------------------- deletes
    def delete_resource(
        self, lid: str, res: ResourceState, *, rollback: bool, functions: StackState | None = None
    ) -> None:
        if res.deletion_policy == "Retain" and not rollback:
            self.event(lid, res.type, "DELETE_SKIPPED", "DeletionPolicy Retain", res.physical_id)
            return
        k = kind(res.type)
        if k == "custom":
            fn = self.function_for(lid, res.properties.get("ServiceToken"), functions or self.old or self.new)
            request = self.invoke_custom(
                lid, res.type, "Delete", res.properties, None, res.physical_id, fn, rollback=rollback
            )
            if request.status != "SUCCESS":
                self.event(lid, res.type, "DELETE_FAILED", request.reason, res.physical_id)
                raise ResourceFailed(lid, request.reason)
        elif k == "amplify":
            client = self.d._amplify()
            try:
                if res.type == AMPLIFY_APP:
                    client.delete_app(appId=res.attributes["AppId"])
                else:
                    client.delete_branch(
                        appId=res.properties["AppId"], branchName=res.properties["BranchName"]
                    )
            except Exception as exc:
                if _error_code(exc) != "NotFoundException":  # already gone: nothing left to delete
                    reason = f"{_error_code(exc) or type(exc).__name__}: {exc}"
                    self.event(lid, res.type, "DELETE_FAILED", reason, res.physical_id)
                    raise ResourceFailed(lid, reason) from exc
        self.event(lid, res.type, "DELETE_COMPLETE", physical=res.physical_id)

    # ---------------------------------------------------------------- rollback
    def rollback(self, creating: bool, failure: ResourceFailed) -> StackResult:
        status_prefix = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
        self.log(f"{self.stack_name}: {status_prefix}_IN_PROGRESS ({failure.logical_id}: {failure.reason})")
        ok = True
        # everything known for function lookups: new functions and old ones
        functions = StackState(self.stack_name, self.stack_id)
        if self.old:
            functions.resources.update(self.old.resources)
        functions.resources.update({f"new:{k}": v for k, v in self.new.resources.items()})
        if creating or failure.logical_id not in (self.old.resources if self.old else {}):
            res = self.template_resources.get(failure.logical_id) or {}
            invoked = any(
                r.logical_id == failure.logical_id and r.request_type == "Create" and not r.rollback
                for r in self.result.requests
            )
            if is_custom_resource(res.get("Type", "")) and invoked:
                # CloudFormation sends Delete to a custom resource whose Create failed
                props = stringify_scalars(self._safe_props(failure.logical_id, res))
                state = ResourceState(
                    type=res["Type"],
                    physical_id=failure.physical_id or f"{self.stack_name}-{failure.logical_id}-{_suffix()}",
                    properties=props,
                )
                try:
                    self.delete_resource(failure.logical_id, state, rollback=True, functions=functions)
                except Exception as exc:  # any failure makes the rollback FAILED
                    ok = False
                    self.log(f"{self.stack_name} | {failure.logical_id}: rollback delete failed: {exc}")
        replaced_new: list[tuple[str, ResourceState]] = []
        for action, lid, old_res, new_res in reversed(self.journal):
            try:
                if action == "created" and new_res is not None:
                    self.delete_resource(lid, new_res, rollback=True, functions=functions)
                elif action in ("updated", "replaced", "failed-update") and old_res is not None:
                    self.revert(lid, old_res, new_res, functions)
                    if action == "replaced" and new_res is not None:
                        replaced_new.append((lid, new_res))
            except Exception as exc:  # any failure makes the rollback FAILED
                ok = False
                self.log(f"{self.stack_name} | {lid}: rollback failed: {exc}")
        for lid, new_res in replaced_new:
            try:
                self.delete_resource(lid, new_res, rollback=True, functions=functions)
            except Exception as exc:  # any failure makes the rollback FAILED
                ok = False
                self.log(f"{self.stack_name} | {lid}: rollback delete failed: {exc}")

        status = f"{status_prefix}_{'COMPLETE' if ok else 'FAILED'}"
        self.result.status = status
        if creating and ok:
            self.d.store.forget(self.stack_name)
        elif self.old is not None:
            restored = self.old.copy()
            restored.status = status
            self.d.store.save(restored)
            self.result.outputs = restored.outputs
            self.result.branches = _branches_of(restored)
        else:
            self.save(status)
        self.log(f"{self.stack_name}: {status}")
        return self.result

    def _safe_props(self, lid: str, res: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.resolve_props(lid, res)
        except ResolveError:
            return {}

    def revert(
        self, lid: str, old_res: ResourceState, new_res: ResourceState | None, functions: StackState
    ) -> None:
        k = kind(old_res.type)
        if k == "custom":
            fn = self.function_for(lid, old_res.properties.get("ServiceToken"), functions)
            new_props = new_res.properties if new_res is not None else self._failed_props(lid)
            request = self.invoke_custom(
                lid,
                old_res.type,
                "Update",
                old_res.properties,
                new_props,
                old_res.physical_id,
                fn,
                rollback=True,
            )
            if request.status != "SUCCESS":
                self.event(
                    lid, old_res.type, "UPDATE_FAILED", f"rollback: {request.reason}", old_res.physical_id
                )
                raise ResourceFailed(lid, request.reason)
            self.event(lid, old_res.type, "UPDATE_COMPLETE", "rolled back", old_res.physical_id)
        elif k == "amplify":
            current = new_res.properties if new_res is not None else {}
            self.update_amplify(lid, old_res.type, old_res.properties, current, old_res, self.d._amplify())
            self.event(lid, old_res.type, "UPDATE_COMPLETE", "rolled back", old_res.physical_id)

    def _failed_props(self, lid: str) -> dict[str, Any]:
        for request in reversed(self.result.requests):
            if request.logical_id == lid and not request.rollback:
                return request.resource_properties
        return {}

    # ---------------------------------------------------------------- destroy
    def destroy(self) -> StackResult:
        assert self.old is not None
        state = self.old
        order = [lid for lid in state.order if lid in state.resources]
        order += [lid for lid in state.resources if lid not in order]
        # dependents first: reverse of a dependency order built from the recorded depends_on
        graph = {lid: set(state.resources[lid].depends_on) & set(state.resources) for lid in order}
        delete_order = list(reversed(_topo(order, graph)))
        remaining = dict(state.resources)
        failed: set[str] = set()
        for lid in delete_order:
            res = state.resources[lid]
            blockers = [other for other in failed if lid in graph.get(other, ())]
            if blockers:
                self.event(
                    lid,
                    res.type,
                    "DELETE_SKIPPED",
                    f"{', '.join(sorted(blockers))} could not be deleted",
                    res.physical_id,
                )
                failed.add(lid)
                continue
            try:
                self.delete_resource(lid, res, rollback=False, functions=state)
                remaining.pop(lid, None)
            except Exception as exc:  # DELETE_FAILED, kept for a later destroy
                failed.add(lid)
                self.result.reason = self.result.reason or f"{lid}: {getattr(exc, 'reason', exc)}"
        if failed:
            state.status = "DELETE_FAILED"
            state.resources = remaining
            state.order = [lid for lid in state.order if lid in remaining]
            self.d.store.save(state)
            self.result.status = "DELETE_FAILED"
        else:
            self.d.store.forget(state.stack_name)
            self.result.status = "DELETE_COMPLETE"
        self.log(f"{state.stack_name}: {self.result.status}")
        return self.result


def _relative_to(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it (the state folder can then move with the app)."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def _topo(order: list[str], graph: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node in seen:
            return
        seen.add(node)
        for dep in sorted(graph.get(node, ()), key=order.index):
            visit(dep)
        out.append(node)

    for node in order:
        visit(node)
    return out


def urlsplit_query_signature(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("X-Amz-Signature", [""])[0]


def copy_app(src: Path, dst: Path) -> Path:
    """Copy an app folder without its build output and driver state (tests use it for temp copies)."""
    shutil.copytree(
        src,
        dst,
        ignore=shutil.ignore_patterns(
            "cdk.out", STATE_DIR_NAME, "__pycache__", ".venv", "node_modules", ".git"
        ),
    )
    return dst
