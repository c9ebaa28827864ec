"""What a run works with: the run context (clients, state, receiver, assets, logger) and, per stack,
the record provisioners read and write (resolved references, the new state, the journal of what was
done, what to delete after success, events).

Resources of a stack are provisioned concurrently (engine.py), so a :class:`StackRun` is shared by
several threads: every read or write of its books (new state, journal, cleanup list, events,
requests) goes through its methods, which hold the run's lock; the run context's logger, client
factory and receiver start are serialized too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from amplify_sandbox.driver.receiver import ResponseReceiver
from amplify_sandbox.driver.resolver import (
    NO_VALUE,
    ResolveContext,
    ResolveError,
    parameter_defaults,
    pseudo_parameters,
    resolve,
)
from amplify_sandbox.driver.results import CustomResourceRequest, ResourceEvent, StackResult
from amplify_sandbox.driver.state import ResourceState, StackState, StateStore
from amplify_sandbox.driver.synth import FileAsset


@dataclass
class RunContext:
    """The surroundings of one deploy or destroy, passed explicitly to the engine and provisioners."""

    account: str
    region: str
    state_dir: Path
    store: StateStore
    log: Callable[[str], None]
    client: Callable[[str], Any]  # the sandbox's boto3 client for a service name ("amplify", "s3")
    function_env: Callable[[], dict[str, str]]  # the sandbox's endpoints and credentials for functions
    receiver: Callable[[], ResponseReceiver]  # the ResponseURL receiver, started on first use
    published: Mapping[tuple[str, str], FileAsset]  # (bucket, key) -> the file asset published there
    #: resources of one stack provisioned at once (CloudFormation does not say how many it runs)
    max_parallel: int = field(default_factory=lambda: default_max_parallel())
    #: the longest wait, in seconds, for a custom resource's answer after its function ended without
    #: one (None: the whole ServiceTimeout, as CloudFormation waits); tests set a short one
    service_timeout_cap: float | None = None

    def __post_init__(self) -> None:
        # called from several threads at once: one line at a time, one client or receiver made at a time
        self.log = _serialized(self.log)
        self.client = _serialized(self.client)
        self.receiver = _serialized(self.receiver)


#: the environment variable that sets :attr:`RunContext.max_parallel`
MAX_PARALLEL_ENV = "AMPLIFY_SANDBOX_MAX_PARALLEL"
DEFAULT_MAX_PARALLEL = 8
#: the environment variable that sets :attr:`RunContext.service_timeout_cap` (seconds)
SERVICE_TIMEOUT_CAP_ENV = "AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP"


def default_max_parallel() -> int:
    """``AMPLIFY_SANDBOX_MAX_PARALLEL`` (at least 1), else 8."""
    raw = os.environ.get(MAX_PARALLEL_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PARALLEL
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{MAX_PARALLEL_ENV} must be a whole number of resources, got {raw!r}") from None
    return max(1, value)


def service_timeout_cap_from_env() -> float | None:
    """``AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP`` in seconds (0 or more), else None (no cap)."""
    raw = os.environ.get(SERVICE_TIMEOUT_CAP_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{SERVICE_TIMEOUT_CAP_ENV} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{SERVICE_TIMEOUT_CAP_ENV} must not be negative, got {raw!r}")
    return value


_F = TypeVar("_F", bound=Callable[..., Any])


def _serialized(fn: _F) -> _F:
    """``fn`` behind a lock of its own (idempotent: a wrapped function is not wrapped again)."""
    if getattr(fn, "__serialized__", False):
        return fn
    lock = threading.Lock()

    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    locked.__serialized__ = True  # type: ignore[attr-defined]
    return locked  # type: ignore[return-value]


#: (action, logical id, old resource, new resource); action: created, kept, updated, replaced, failed-update
JournalEntry = tuple[str, str, ResourceState | None, ResourceState | None]


@dataclass
class StackRun:
    """One deploy or destroy of one stack: what provisioners read (template, old state, references)
    and write (the new state, the journal the rollback walks back, events, requests)."""

    ctx: RunContext
    stack_name: str
    stack_id: str
    result: StackResult
    template: dict[str, Any] = field(default_factory=dict)
    old: StackState | None = None
    graph: dict[str, set[str]] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)  # function logical id -> retry attempts
    journal: list[JournalEntry] = field(default_factory=list)
    cleanup: list[tuple[str, ResourceState]] = field(default_factory=list)  # deleted after success
    new: StackState = field(init=False)
    pseudo: dict[str, Any] = field(init=False)
    #: set when the run is interrupted (Ctrl-C): running functions are killed, nothing new starts
    cancelled: threading.Event = field(init=False, default_factory=threading.Event)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)
    #: held by the steps that must not run alongside each other (engine.ONE_AT_A_TIME)
    one_at_a_time: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.new = StackState(stack_name=self.stack_name, stack_id=self.stack_id)
        self.pseudo = pseudo_parameters(
            account=self.ctx.account,
            region=self.ctx.region,
            stack_name=self.stack_name,
            stack_id=self.stack_id,
        )

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The template's resources (none when destroying)."""
        return dict(self.template.get("Resources") or {})

    # ---------------------------------------------------------------- reporting
    def log(self, line: str) -> None:
        self.ctx.log(line)

    def event(
        self, logical_id: str, rtype: str, status: str, reason: str = "", physical: str | None = None
    ) -> None:
        with self._lock:
            self.result.events.append(ResourceEvent(logical_id, rtype, status, reason, physical))
        text = f"{self.stack_name} | {logical_id} ({rtype}) {status}"
        if physical and status.endswith("COMPLETE"):
            text += f" {physical}"
        if reason:
            text += f": {reason}"
        self.log(text)

    def add_request(self, request: CustomResourceRequest) -> None:
        """A custom resource request sent (in the order they were sent)."""
        with self._lock:
            self.result.requests.append(request)

    def requests(self) -> list[CustomResourceRequest]:
        """The custom resource requests sent so far (a copy)."""
        with self._lock:
            return list(self.result.requests)

    # ---------------------------------------------------------------- resolution
    def resolve_context(self) -> ResolveContext:
        refs: dict[str, Any] = {}
        attrs: dict[str, dict[str, Any]] = {}
        with self._lock:
            done = list(self.new.resources.items())
        for lid, res in done:
            refs[lid] = res.ref
            attrs[lid] = res.attributes
        for name, default in parameter_defaults(self.template).items():
            refs.setdefault(name, default)
        params = self.template.get("Parameters") or {}
        resources = self.resources
        types = {lid: res.get("Type", "?") for lid, res in resources.items()}
        return ResolveContext(
            pseudo=self.pseudo,
            refs=refs,
            attributes=attrs,
            types=types,
            declared=set(resources) | set(params),
        )

    def resolve_props(self, logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        props = resolve(
            resource.get("Properties") or {}, self.resolve_context(), f"Resources.{logical_id}.Properties"
        )
        return props if props is not NO_VALUE else {}

    def safe_props(self, logical_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        """The resolved properties, or ``{}`` when they cannot be resolved (rollback)."""
        try:
            return self.resolve_props(logical_id, resource)
        except ResolveError:
            return {}

    # ---------------------------------------------------------------- recording
    def depends(self, logical_id: str) -> list[str]:
        return sorted(self.graph.get(logical_id, ()))

    def record(self, lid: str, state: ResourceState, old_res: ResourceState | None, action: str) -> None:
        with self._lock:
            self.new.resources[lid] = state
            self.journal.append((action, lid, old_res, state))

    def failed_update(self, lid: str, old_res: ResourceState) -> None:
        """An update that failed: the rollback brings ``old_res`` back (its properties as they were)."""
        with self._lock:
            self.journal.append(("failed-update", lid, old_res, None))

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
            depends_on=self.depends(lid),
            deletion_policy=deletion_policy,
        )
        if properties is not None:
            state.properties = properties
        self.record(lid, state, old_res, "kept")

    def delete_after_success(self, lid: str, old_res: ResourceState) -> None:
        """A replaced resource: the new one is made now, the old one deleted once the update succeeds."""
        with self._lock:
            self.cleanup.append((lid, old_res))

    def save(self, status: str) -> None:
        """The old state with what this run has done so far (after each resource)."""
        with self._lock:
            merged = self.old.copy() if self.old else StackState(self.stack_name, self.stack_id)
            merged.stack_id = self.stack_id
            merged.status = status
            for lid, res in self.new.resources.items():
                merged.resources[lid] = res
                if lid not in merged.order:
                    merged.order.append(lid)
            self.ctx.store.save(merged)
