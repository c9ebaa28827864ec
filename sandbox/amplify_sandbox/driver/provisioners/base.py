"""What a provisioner is: the create / update / delete / revert of one kind of resource.

The engine (engine.py) decides when: in dependency order, rolling back in reverse, destroying
dependents first. A provisioner decides what each step means for its resource types, reading and
writing the stack's run record (:class:`~amplify_sandbox.driver.context.StackRun`): it resolves the
properties, records the new :class:`ResourceState` with :meth:`StackRun.record` (the journal the
rollback walks back), and reports events. A failure is reported as an event, then raised as
:class:`~amplify_sandbox.driver.errors.ResourceFailed`.
"""

from __future__ import annotations

import secrets
import string
from typing import Any, ClassVar

from amplify_sandbox.driver.context import StackRun
from amplify_sandbox.driver.errors import ResourceFailed
from amplify_sandbox.driver.state import ResourceState, StackState


class Provisioner:
    """The default of each step is to do nothing (a resource that lives only in the driver's state)."""

    #: the name the template checks and ``kind()`` use ("passive", "lambda", "amplify", "custom")
    kind: ClassVar[str] = ""
    #: the resource types this provisioner handles
    types: ClassVar[frozenset[str]] = frozenset()
    #: a dependency, direct or not, on a type no provisioner handles refuses the template
    needs_supported_dependencies: ClassVar[bool] = False

    def handles(self, resource_type: str) -> bool:
        return resource_type in self.types

    def check(self, lid: str, resource: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
        """Refuse (DriverError) what the local driver cannot provision, before anything is touched."""

    def create(self, run: StackRun, lid: str, resource: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, run: StackRun, lid: str, resource: dict[str, Any], old_res: ResourceState) -> None:
        """Bring ``old_res`` (same type, recorded by an earlier run) to the template's ``resource``."""
        raise NotImplementedError

    def delete(
        self, run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState
    ) -> None:
        """Delete ``res``; ``functions`` is where to find the Lambda functions it may need."""

    def revert(
        self, run: StackRun, lid: str, old: ResourceState, new: ResourceState | None, functions: StackState
    ) -> None:
        """Rollback: bring an updated (or failed-update) resource back to ``old`` from ``new`` (None:
        the update failed; the properties it was sent are the current ones)."""

    def left_by_failed_create(self, run: StackRun, failure: ResourceFailed) -> ResourceState | None:
        """Rollback: what a create that failed may have left behind and must be deleted, if anything."""
        return None


def deletion_policy(resource: dict[str, Any]) -> str:
    return str(resource.get("DeletionPolicy", "Delete"))


def random_suffix(n: int = 13) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(n))


def generated_name(stack_name: str, logical_id: str, max_len: int = 64) -> str:
    """A name as CloudFormation generates one: ``<Stack>-<LogicalId>-<SUFFIX>``, at most ``max_len``."""
    suffix = random_suffix()
    head = f"{stack_name}-{logical_id}"[: max_len - len(suffix) - 1]
    return f"{head}-{suffix}"
