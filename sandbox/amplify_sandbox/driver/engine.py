"""The engine: deploy one stack in dependency order, roll it back as CloudFormation does when a
resource fails, destroy it dependents first. What each step means for a resource is its
provisioner's business (provisioners/); the engine decides the order and keeps the books.
"""

from __future__ import annotations

import uuid
from typing import Any

from amplify_sandbox.driver import assets as assets_mod
from amplify_sandbox.driver.context import RunContext, StackRun
from amplify_sandbox.driver.errors import DriverError, ResourceFailed
from amplify_sandbox.driver.graph import topological_order, transitive_dependencies
from amplify_sandbox.driver.provisioners import provisioner_for
from amplify_sandbox.driver.provisioners.amplify import branches_of
from amplify_sandbox.driver.resolver import ResolveError, resolve
from amplify_sandbox.driver.results import StackResult
from amplify_sandbox.driver.state import ResourceState, StackState
from amplify_sandbox.driver.synth import StackArtifact
from amplify_sandbox.driver.template import TemplateError, dependency_graph, provision_order, retry_attempts


# ---------------------------------------------------------------------- deploy
def deploy_stack(ctx: RunContext, artifact: StackArtifact) -> StackResult:
    """Create or update one stack; a failure rolls it back."""
    template = artifact.template
    resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
    old = ctx.store.load(artifact.stack_name)
    stack_id = (
        old.stack_id
        if old
        else f"arn:aws:cloudformation:{ctx.region}:{ctx.account}:stack/{artifact.stack_name}/{uuid.uuid4()}"
    )
    creating = old is None or not old.resources
    result = StackResult(stack_name=artifact.stack_name, status="")
    verb = "CREATE" if creating else "UPDATE"
    ctx.log(f"{artifact.stack_name}: {verb}_IN_PROGRESS")

    try:
        order = provision_order(resources)
        graph = dependency_graph(resources)
        check_supported(resources, graph)
        retries = retry_attempts(resources)
    except (TemplateError, DriverError) as exc:
        # refused before anything was touched (the state stays as it was)
        result.status = f"{verb}_FAILED"
        result.reason = str(exc)
        ctx.log(f"{artifact.stack_name}: {verb}_FAILED: {result.reason}")
        return result

    run = StackRun(ctx, artifact.stack_name, stack_id, result, template, old, graph, retries)
    return _deploy(run, order)


def check_supported(resources: dict[str, dict[str, Any]], graph: dict[str, set[str]]) -> None:
    """Refuse, before anything is touched, a template the local driver cannot deploy faithfully."""
    unsupported = {lid for lid, res in resources.items() if provisioner_for(res.get("Type", "")) is None}
    for lid, res in resources.items():
        rtype = res.get("Type", "")
        provisioner = provisioner_for(rtype)
        if provisioner is None:
            continue
        if "Condition" in res and not provisioner.allows_condition:
            raise DriverError(
                f"Resources.{lid}: the Condition {res['Condition']!r} on a {rtype} is not "
                "supported by the local driver"
            )
        if provisioner.needs_supported_dependencies:
            bad = sorted(transitive_dependencies(graph, lid) & unsupported)
            if bad:
                named = ", ".join(f"{b} ({resources[b]['Type']})" for b in bad)
                raise DriverError(
                    f"{lid} ({rtype}) depends on {named}: "
                    "a resource type the local driver does not support (it provisions AWS::Amplify::App, "
                    "AWS::Amplify::Branch, AWS::Lambda::Function and custom resources)"
                )
        provisioner.check(lid, res, resources)


def _deploy(run: StackRun, order: list[str]) -> StackResult:
    creating = run.old is None or not run.old.resources
    verb = "CREATE" if creating else "UPDATE"
    resources = run.resources
    failure: ResourceFailed | None = None
    for lid in order:
        res = resources[lid]
        try:
            _provision(run, lid, res)
        except ResourceFailed as exc:
            failure = exc
            break
        except (ResolveError, DriverError, assets_mod.AssetError) as exc:
            failure = ResourceFailed(lid, str(exc))
            run.event(lid, res.get("Type", "?"), f"{verb}_FAILED", str(exc))
            break
        except Exception as exc:  # the emulator unreachable, a bug: fail the resource, roll back
            reason = f"{type(exc).__name__}: {exc}"
            failure = ResourceFailed(lid, reason)
            run.event(lid, res.get("Type", "?"), f"{verb}_FAILED", reason)
            break
        run.new.order.append(lid)
        run.save(f"{verb}_IN_PROGRESS")

    if failure is not None:
        run.result.reason = f"{failure.logical_id}: {failure.reason}"
        return _rollback(run, creating, failure)

    # cleanup: resources gone from the template, and old physical resources that were replaced
    old = run.old
    for lid in reversed(old.order if old else []):
        if lid not in resources and old is not None and lid in old.resources:
            run.cleanup.append((lid, old.resources[lid]))
    for lid, old_res in run.cleanup:
        try:
            _delete(run, lid, old_res, rollback=False)
        except ResourceFailed as exc:
            run.log(f"{run.stack_name} | {lid}: cleanup failed (left in place): {exc.reason}")

    run.new.outputs = _outputs(run)
    result = run.result
    changed = bool(result.requests) or any(
        e.status.endswith("COMPLETE") and not e.status.startswith("NO_CHANGE") for e in result.events
    )
    status = f"{verb}_COMPLETE"
    if not creating and not changed and old is not None:
        status = (
            old.status
            if old.status.endswith("_COMPLETE") and "ROLLBACK" not in old.status
            else "UPDATE_COMPLETE"
        )
    run.new.status = status
    run.ctx.store.save(run.new)
    result.status = status
    result.changed = changed or creating
    result.outputs = run.new.outputs
    result.branches = branches_of(run.new)
    if not result.changed:
        run.log(f"{run.stack_name}: no changes")
    if run.new.outputs:
        run.log("Outputs:")
        for name, value in run.new.outputs.items():
            run.log(f"  {run.stack_name}.{name} = {value}")
    run.log(f"{run.stack_name}: {status}")
    return result


def _provision(run: StackRun, lid: str, res: dict[str, Any]) -> None:
    rtype = res.get("Type", "")
    old_res = run.old.resources.get(lid) if run.old else None
    if old_res is not None and old_res.type != rtype:
        # a type change is a replacement
        run.delete_after_success(lid, old_res)
        old_res = None
    provisioner = provisioner_for(rtype)
    if provisioner is None:
        run.log(
            f"{run.stack_name} | {lid} ({rtype}) SKIPPED: not supported by the local driver, and "
            "nothing the driver provisions depends on it"
        )
    elif old_res is None:
        provisioner.create(run, lid, res)
    else:
        provisioner.update(run, lid, res, old_res)


def _outputs(run: StackRun) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    ctx = run.resolve_context()
    for name, output in (run.template.get("Outputs") or {}).items():
        try:
            outputs[name] = resolve(output.get("Value"), ctx, f"Outputs.{name}.Value")
        except ResolveError as exc:
            outputs[name] = None
            run.log(f"{run.stack_name} | output {name} could not be resolved: {exc}")
    return outputs


# ---------------------------------------------------------------------- delete, rollback
def _delete(
    run: StackRun, lid: str, res: ResourceState, *, rollback: bool, functions: StackState | None = None
) -> None:
    if res.deletion_policy == "Retain" and not rollback:
        run.event(lid, res.type, "DELETE_SKIPPED", "DeletionPolicy Retain", res.physical_id)
        return
    provisioner = provisioner_for(res.type)
    if provisioner is not None:
        where = functions if functions is not None else (run.old if run.old is not None else run.new)
        provisioner.delete(run, lid, res, rollback=rollback, functions=where)
    run.event(lid, res.type, "DELETE_COMPLETE", physical=res.physical_id)


def _rollback(run: StackRun, creating: bool, failure: ResourceFailed) -> StackResult:
    status_prefix = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
    run.log(f"{run.stack_name}: {status_prefix}_IN_PROGRESS ({failure.logical_id}: {failure.reason})")
    ok = True
    # everything known for function lookups: new functions and old ones
    functions = StackState(run.stack_name, run.stack_id)
    if run.old:
        functions.resources.update(run.old.resources)
    functions.resources.update({f"new:{k}": v for k, v in run.new.resources.items()})
    if creating or failure.logical_id not in (run.old.resources if run.old else {}):
        failed_type = (run.resources.get(failure.logical_id) or {}).get("Type", "")
        provisioner = provisioner_for(failed_type)
        leftover = provisioner.left_by_failed_create(run, failure) if provisioner else None
        if leftover is not None:
            try:
                _delete(run, failure.logical_id, leftover, rollback=True, functions=functions)
            except Exception as exc:  # any failure makes the rollback FAILED
                ok = False
                run.log(f"{run.stack_name} | {failure.logical_id}: rollback delete failed: {exc}")
    replaced_new: list[tuple[str, ResourceState]] = []
    for action, lid, old_res, new_res in reversed(run.journal):
        try:
            if action == "created" and new_res is not None:
                _delete(run, lid, new_res, rollback=True, functions=functions)
            elif action in ("updated", "replaced", "failed-update") and old_res is not None:
                reverting = provisioner_for(old_res.type)
                if reverting is not None:
                    reverting.revert(run, lid, old_res, new_res, functions)
                if action == "replaced" and new_res is not None:
                    replaced_new.append((lid, new_res))
        except Exception as exc:  # any failure makes the rollback FAILED
            ok = False
            run.log(f"{run.stack_name} | {lid}: rollback failed: {exc}")
    for lid, new_res in replaced_new:
        try:
            _delete(run, lid, new_res, rollback=True, functions=functions)
        except Exception as exc:  # any failure makes the rollback FAILED
            ok = False
            run.log(f"{run.stack_name} | {lid}: rollback delete failed: {exc}")

    status = f"{status_prefix}_{'COMPLETE' if ok else 'FAILED'}"
    run.result.status = status
    if creating and ok:
        run.ctx.store.forget(run.stack_name)
    elif run.old is not None:
        restored = run.old.copy()
        restored.status = status
        run.ctx.store.save(restored)
        run.result.outputs = restored.outputs
        run.result.branches = branches_of(restored)
    else:
        run.save(status)
    run.log(f"{run.stack_name}: {status}")
    return run.result


# ---------------------------------------------------------------------- destroy
def destroy_stack(ctx: RunContext, state: StackState) -> StackResult:
    """Delete every resource of a recorded stack, dependents first; forget the stack when all went."""
    result = StackResult(stack_name=state.stack_name, status="DELETE_IN_PROGRESS")
    ctx.log(f"{state.stack_name}: DELETE_IN_PROGRESS")
    run = StackRun(ctx, state.stack_name, state.stack_id, result, old=state)
    order = [lid for lid in state.order if lid in state.resources]
    order += [lid for lid in state.resources if lid not in order]
    # dependents first: reverse of a dependency order built from the recorded depends_on
    graph = {lid: set(state.resources[lid].depends_on) & set(state.resources) for lid in order}
    visiting = {lid: sorted(deps, key=order.index) for lid, deps in graph.items()}
    delete_order = list(reversed(topological_order(order, visiting)))
    remaining = dict(state.resources)
    failed: set[str] = set()
    for lid in delete_order:
        res = state.resources[lid]
        blockers = [other for other in failed if lid in graph.get(other, ())]
        if blockers:
            run.event(
                lid,
                res.type,
                "DELETE_SKIPPED",
                f"{', '.join(sorted(blockers))} could not be deleted",
                res.physical_id,
            )
            failed.add(lid)
            continue
        try:
            _delete(run, lid, res, rollback=False, functions=state)
            remaining.pop(lid, None)
        except Exception as exc:  # DELETE_FAILED, kept for a later destroy
            failed.add(lid)
            result.reason = result.reason or f"{lid}: {getattr(exc, 'reason', exc)}"
    if failed:
        state.status = "DELETE_FAILED"
        state.resources = remaining
        state.order = [lid for lid in state.order if lid in remaining]
        ctx.store.save(state)
        result.status = "DELETE_FAILED"
    else:
        ctx.store.forget(state.stack_name)
        result.status = "DELETE_COMPLETE"
    ctx.log(f"{state.stack_name}: {result.status}")
    return result
