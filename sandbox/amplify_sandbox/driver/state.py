"""The driver's memory of deployed stacks: APP_DIR/.amplify-sandbox/stacks/<StackName>.json.

Per stack: its id, status, outputs and, per resource: type, physical id, the value of ``Ref``,
attributes (``Fn::GetAtt``), the last resolved properties (what the next run compares against), the
resources it depends on (for delete order) and, for Lambda functions, how to run them. Written
atomically (temporary file + rename) after every resource, so an interrupted run leaves what it did.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_VERSION = 1


@dataclass
class ResourceState:
    type: str
    physical_id: str
    ref: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    deletion_policy: str = "Delete"
    function: dict[str, Any] | None = None  # Lambda functions: LambdaFunction fields

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class StackState:
    stack_name: str
    stack_id: str
    status: str = "CREATE_IN_PROGRESS"
    resources: dict[str, ResourceState] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # logical ids in the order they were provisioned
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "stackName": self.stack_name,
            "stackId": self.stack_id,
            "status": self.status,
            "order": self.order,
            "resources": {k: v.to_json() for k, v in self.resources.items()},
            "outputs": self.outputs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StackState:
        return cls(
            stack_name=data["stackName"],
            stack_id=data["stackId"],
            status=data.get("status", "UNKNOWN"),
            order=list(data.get("order") or []),
            resources={k: ResourceState.from_json(v) for k, v in (data.get("resources") or {}).items()},
            outputs=dict(data.get("outputs") or {}),
        )

    def copy(self) -> StackState:
        return StackState.from_json(json.loads(json.dumps(self.to_json())))


class StateStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.stacks_dir = root / "stacks"

    def _path(self, stack_name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stack_name)
        return self.stacks_dir / f"{safe}.json"

    def load(self, stack_name: str) -> StackState | None:
        path = self._path(stack_name)
        if not path.is_file():
            return None
        return StackState.from_json(json.loads(path.read_text()))

    def save(self, state: StackState) -> None:
        self.stacks_dir.mkdir(parents=True, exist_ok=True)
        path = self._path(state.stack_name)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=1, sort_keys=True, default=str))
        os.replace(tmp, path)

    def forget(self, stack_name: str) -> None:
        self._path(stack_name).unlink(missing_ok=True)

    def stack_names(self) -> list[str]:
        if not self.stacks_dir.is_dir():
            return []
        names = []
        for path in sorted(self.stacks_dir.glob("*.json")):
            try:
                names.append(json.loads(path.read_text())["stackName"])
            except (ValueError, KeyError):
                continue
        return names
