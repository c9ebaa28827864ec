"""The local stack driver: a small local CloudFormation for CDK apps that use amplify_deployment.

``LocalStack(app_dir, sandbox).deploy()`` synthesizes the app, publishes its file assets to the
sandbox's S3, provisions AWS::Amplify::App/Branch in the emulator, records Lambda functions, runs
custom resources' handlers as Lambda would (subprocess, CloudFormation event, HTTPS ResponseURL),
keeps state in APP_DIR/.amplify-sandbox/ so the next run updates, and rolls back a failed update as
CloudFormation does. ``.destroy()`` sends Delete to custom resources and forgets the stack.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from amplify_sandbox.driver import assets as assets_mod
from amplify_sandbox.driver import engine
from amplify_sandbox.driver.context import RunContext, service_timeout_cap_from_env
from amplify_sandbox.driver.errors import DriverError, ResourceFailed
from amplify_sandbox.driver.provisioners.amplify import branches_of
from amplify_sandbox.driver.receiver import ResponseReceiver
from amplify_sandbox.driver.results import CustomResourceRequest, DeployResult, ResourceEvent, StackResult
from amplify_sandbox.driver.state import StackState, StateStore
from amplify_sandbox.driver.synth import CloudAssembly, FileAsset, StackArtifact, SynthError, synthesize

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
STATE_DIR_NAME = ".amplify-sandbox"

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "STATE_DIR_NAME",
    "CustomResourceRequest",
    "DeployResult",
    "DriverError",
    "LocalStack",
    "ResourceEvent",
    "ResourceFailed",
    "StackResult",
    "copy_app",
]


class LocalStack:
    """Deploy / update / destroy a CDK app's stacks against a running :class:`amplify_sandbox.Sandbox`.

    ``app_dir``: the folder with cdk.json. ``sandbox``: a started Sandbox (its ``client()``, ``env()``
    and ``emulator`` are used). ``state_dir``: default APP_DIR/.amplify-sandbox. ``log``: where
    progress lines go (default print). ``account``/``region``: the pseudo parameters (default the
    sandbox's, else 123456789012 / us-east-1). ``service_timeout_cap``: the longest wait, in seconds,
    for a custom resource's answer after its function ended without one (default
    ``AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP``, else none: the resource's whole ServiceTimeout, up to an
    hour, as CloudFormation waits).
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
        context: dict[str, str] | None = None,
        service_timeout_cap: float | None = None,
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
        self.context = dict(context or {})  # `-c key=value`: passed to synth as the CDK CLI does
        self.service_timeout_cap = (
            service_timeout_cap if service_timeout_cap is not None else service_timeout_cap_from_env()
        )
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
            self.app_dir,
            self.outdir,
            account=self.account,
            region=self.region,
            log=self.log,
            context=self.context,
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
        """(app id, branch, local URL) of every branch of the deployed stacks, and of every branch
        a custom resource of theirs deploys to (an app made outside the stack: ``AppId`` and
        ``BranchName`` properties)."""
        branches: list[tuple[str, str]] = []
        if result is not None:
            branches = list(result.branches)
            names = [s.stack_name for s in result.stacks]
        else:
            names = self.store.stack_names()
        for name in names:
            state = self.store.load(name)
            if state:
                if result is None:
                    branches.extend(branches_of(state))
                branches.extend(b for b in deployment_targets(state) if b not in branches)
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

    # ------------------------------------------------------------------ one stack
    def _client(self, service: str) -> Any:
        """The sandbox's boto3 client of ``service``, signed for the stack's Region: the emulator keeps
        apps per Region, as Amplify does, and the handler calls it from that Region."""
        return self.sandbox.client(service, region_name=self.region)

    def _run_context(self) -> RunContext:
        return RunContext(
            account=self.account,
            region=self.region,
            state_dir=self.state_dir,
            store=self.store,
            log=self.log,
            client=self._client,
            function_env=self.function_env,
            receiver=self._start_receiver,
            published=self._published,
            service_timeout_cap=self.service_timeout_cap,
        )

    def _deploy_stack(self, artifact: StackArtifact) -> StackResult:
        return engine.deploy_stack(self._run_context(), artifact)

    def _destroy_stack(self, state: StackState) -> StackResult:
        return engine.destroy_stack(self._run_context(), state)


def deployment_targets(state: StackState) -> list[tuple[str, str]]:
    """(app id, branch) that the custom resources of a recorded stack deploy to."""
    found: list[tuple[str, str]] = []
    for lid in state.order or list(state.resources):
        res = state.resources.get(lid)
        if res is None or not (res.type.startswith("Custom::") or res.type.endswith("::CustomResource")):
            continue
        app_id, branch = res.properties.get("AppId"), res.properties.get("BranchName")
        if isinstance(app_id, str) and isinstance(branch, str) and (app_id, branch) not in found:
            found.append((app_id, branch))
    return found


def _env_region(sandbox: Any) -> str | None:
    try:
        region = sandbox.env().get("AWS_REGION")
    except Exception:
        return None
    return str(region) if region else None


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
