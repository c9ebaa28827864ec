"""What a deploy or destroy reports: per stack its status, events and custom resource requests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


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
    #: when the request was sent and when the driver concluded (answer read, or given up on), as
    #: ``time.time()``: resources run concurrently, so these intervals may overlap
    sent_at: float = 0.0
    ended_at: float = 0.0


@dataclass
class ResourceEvent:
    logical_id: str
    resource_type: str
    status: str  # CREATE_COMPLETE, UPDATE_FAILED, ...
    reason: str = ""
    physical_id: str | None = None
    timestamp: float = field(default_factory=time.time)  # when it happened (``time.time()``)


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
