"""What a run works with: the run context (clients, state, receiver, assets, logger) and, per stack,
the record provisioners read and write (resolved references, the new state, the journal of what was
done, what to delete after success, events)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_sandbox.driver.receiver import ResponseReceiver
from amplify_sandbox.driver.resolver import (
    NO_VALUE,
    ResolveContext,
    ResolveError,
    pseudo_parameters,
    resolve,
)
from amplify_sandbox.driver.results import ResourceEvent, StackResult
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
        self.result.events.append(ResourceEvent(logical_id, rtype, status, reason, physical))
        text = f"{self.stack_name} | {logical_id} ({rtype}) {status}"
        if physical and status.endswith("COMPLETE"):
            text += f" {physical}"
        if reason:
            text += f": {reason}"
        self.log(text)

    # ---------------------------------------------------------------- resolution
    def resolve_context(self) -> ResolveContext:
        refs: dict[str, Any] = {}
        attrs: dict[str, dict[str, Any]] = {}
        for lid, res in self.new.resources.items():
            refs[lid] = res.ref
            attrs[lid] = res.attributes
        params = self.template.get("Parameters") or {}
        for name, param in params.items():
            if "Default" in param and not str(param.get("Type", "")).startswith("AWS::SSM::"):
                refs.setdefault(name, param["Default"])
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
            depends_on=self.depends(lid),
            deletion_policy=deletion_policy,
        )
        if properties is not None:
            state.properties = properties
        self.record(lid, state, old_res, "kept")

    def delete_after_success(self, lid: str, old_res: ResourceState) -> None:
        """A replaced resource: the new one is made now, the old one deleted once the update succeeds."""
        self.cleanup.append((lid, old_res))

    def save(self, status: str) -> None:
        """The old state with what this run has done so far (after each resource)."""
        merged = self.old.copy() if self.old else StackState(self.stack_name, self.stack_id)
        merged.stack_id = self.stack_id
        merged.status = status
        for lid, res in self.new.resources.items():
            merged.resources[lid] = res
            if lid not in merged.order:
                merged.order.append(lid)
        self.ctx.store.save(merged)
