"""The engine: deploy one stack in dependency order, roll it back as CloudFormation does when a
resource fails, destroy it dependents first. What each step means for a resource is its
provisioner's business (provisioners/); the engine decides the order and keeps the books.

Concurrency, as CloudFormation: a resource starts as soon as every resource it depends on (DependsOn,
Ref, Fn::GetAtt, Fn::Sub) is complete, up to ``RunContext.max_parallel`` at once (threads; a custom
resource's function runs in a subprocess of its own). On the first failure nothing new starts, the
resources in flight finish (or fail), then everything this run created or updated is rolled back, one
at a time, in reverse order of completion (a reverse dependency order). Destroy deletes concurrently
too: a resource once every resource that depends on it is deleted. Stacks stay sequential (the CDK
CLI's ``--concurrency`` defaults to 1).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from amplify_sandbox.driver import assets as assets_mod
from amplify_sandbox.driver.context import RunContext, StackRun
from amplify_sandbox.driver.errors import DriverError, ResourceFailed
from amplify_sandbox.driver.graph import topological_order, transitive_dependencies
from amplify_sandbox.driver.lambda_runner import Cancelled
from amplify_sandbox.driver.provisioners import provisioner_for
from amplify_sandbox.driver.provisioners.amplify import branches_of
from amplify_sandbox.driver.resolver import ResolveError, pseudo_parameters, resolve
from amplify_sandbox.driver.results import StackResult
from amplify_sandbox.driver.state import ResourceState, StackState
from amplify_sandbox.driver.synth import StackArtifact
from amplify_sandbox.driver.template import (
    TemplateError,
    apply_conditions,
    dependency_graph,
    provision_order,
    retry_attempts,
)

#: provisioner kinds whose steps run one at a time: recording a Lambda function unpacks its code into
#: a folder named by its asset (assets.unpack_code), which two functions of one asset must not do at
#: once; it takes no time, so nothing is lost
ONE_AT_A_TIME = frozenset({"lambda"})


# ---------------------------------------------------------------------- deploy
def deploy_stack(ctx: RunContext, artifact: StackArtifact) -> StackResult:
    """Create or update one stack; a failure rolls it back."""
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
        pseudo = pseudo_parameters(
            account=ctx.account, region=ctx.region, stack_name=artifact.stack_name, stack_id=stack_id
        )
        template = apply_conditions(artifact.template, pseudo)
        resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
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

    def completed(lid: str) -> None:  # in this thread, one at a time
        run.new.order.append(lid)
        run.save(f"{verb}_IN_PROGRESS")

    def first_failure(failed: str, in_flight: list[str]) -> None:
        if in_flight:
            run.log(
                f"{run.stack_name}: {failed} failed; starting nothing new, waiting for the resources in "
                f"progress ({', '.join(in_flight)}) before rolling back"
            )

    outcome = run_in_dependency_order(
        run,
        order,
        {lid: run.graph.get(lid, set()) for lid in order},
        lambda lid: _provision_step(run, lid, verb),
        stop_on_failure=True,
        on_success=completed,
        on_first_failure=first_failure,
    )
    if outcome.failures:
        failures = [_as_resource_failed(lid, exc) for lid, exc in outcome.failures.items()]
        first = failures[0]
        run.result.reason = f"{first.logical_id}: {first.reason}"
        return _rollback(run, creating, failures)

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


def _provision_step(run: StackRun, lid: str, verb: str) -> None:
    """Provision one resource (in a worker thread); any failure is reported as its event and raised
    as :class:`ResourceFailed`."""
    res = run.resources[lid]
    try:
        _provision(run, lid, res)
    except (ResourceFailed, Cancelled):
        raise
    except (ResolveError, DriverError, assets_mod.AssetError) as exc:
        run.event(lid, res.get("Type", "?"), f"{verb}_FAILED", str(exc))
        raise ResourceFailed(lid, str(exc)) from exc
    except Exception as exc:  # the emulator unreachable, a bug: fail the resource, roll back
        reason = f"{type(exc).__name__}: {exc}"
        run.event(lid, res.get("Type", "?"), f"{verb}_FAILED", reason)
        raise ResourceFailed(lid, reason) from exc


def _as_resource_failed(lid: str, exc: BaseException) -> ResourceFailed:
    if isinstance(exc, ResourceFailed):
        return exc
    return ResourceFailed(lid, f"{type(exc).__name__}: {exc}")


class Outcome:
    """What :func:`run_in_dependency_order` did: the nodes that succeeded (in completion order), the
    failures (in the order they were seen) and the nodes never started."""

    def __init__(self) -> None:
        self.succeeded: list[str] = []
        self.failures: dict[str, BaseException] = {}
        self.not_started: list[str] = []


def run_in_dependency_order(
    run: StackRun,
    nodes: list[str],
    prerequisites: Mapping[str, set[str]],
    step: Callable[[str], None],
    *,
    stop_on_failure: bool,
    on_success: Callable[[str], None] | None = None,
    on_first_failure: Callable[[str, list[str]], None] | None = None,
) -> Outcome:
    """Run ``step(node)`` for every node once all its prerequisites (those among ``nodes``) have
    succeeded, up to ``run.ctx.max_parallel`` at once, in threads; ``nodes`` is a topological order
    and breaks ties. A node whose prerequisite failed (or was not started) is not started. With
    ``stop_on_failure`` nothing new starts after the first failure; the steps in flight finish.

    ``on_success`` runs in the calling thread, one node at a time. Ctrl-C (any BaseException in the
    calling thread) sets ``run.cancelled``: running functions are killed, the threads are waited
    for, what succeeded meanwhile still goes through ``on_success``, then the exception goes on."""
    known = set(nodes)
    needs = {n: set(prerequisites.get(n, set())) & known - {n} for n in nodes}
    outcome = Outcome()
    waiting = list(nodes)
    running: dict[Future[None], str] = {}
    done: set[str] = set()
    limit = max(1, run.ctx.max_parallel)

    def settle(future: Future[None]) -> None:
        node = running.pop(future)
        exc = future.exception()
        if exc is None:
            done.add(node)
            outcome.succeeded.append(node)
            if on_success is not None:
                on_success(node)
        else:
            first = not outcome.failures
            outcome.failures[node] = exc
            if first and on_first_failure is not None and stop_on_failure:
                on_first_failure(node, [running[f] for f in running])

    name = f"{run.stack_name}-resource"
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix=name) as pool:
        try:
            while True:
                stopping = stop_on_failure and bool(outcome.failures)
                if not stopping:
                    for node in list(waiting):
                        if len(running) >= limit:
                            break
                        if needs[node] <= done:
                            waiting.remove(node)
                            running[pool.submit(step, node)] = node
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: nodes.index(running[f])):
                    settle(future)
        except BaseException:
            run.cancelled.set()  # running functions are killed; their threads end at once
            wait(list(running))
            for future in sorted(running, key=lambda f: nodes.index(running[f])):
                if future.exception() is None:
                    settle(future)  # done before the interruption reached it: recorded
            raise
    outcome.not_started = waiting
    return outcome


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
        return
    with run.one_at_a_time if provisioner.kind in ONE_AT_A_TIME else contextlib.nullcontext():
        if old_res is None:
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


def _rollback(run: StackRun, creating: bool, failures: list[ResourceFailed]) -> StackResult:
    """Undo this run, one step at a time, in reverse order of what it did: the leftovers of failed
    creates first (nothing depends on them: their dependents never started), then the journal."""
    status_prefix = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
    first = failures[0]
    run.log(f"{run.stack_name}: {status_prefix}_IN_PROGRESS ({first.logical_id}: {first.reason})")
    ok = True
    # everything known for function lookups: new functions and old ones
    functions = StackState(run.stack_name, run.stack_id)
    if run.old:
        functions.resources.update(run.old.resources)
    functions.resources.update({f"new:{k}": v for k, v in run.new.resources.items()})
    for failure in reversed(failures):
        if not creating and failure.logical_id in (run.old.resources if run.old else {}):
            continue
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
    # a resource is deleted once every resource that depends on it is gone
    dependents = {lid: {other for other in order if lid in graph[other]} for lid in order}

    def delete(lid: str) -> None:
        _delete(run, lid, state.resources[lid], rollback=False, functions=state)

    outcome = run_in_dependency_order(run, delete_order, dependents, delete, stop_on_failure=False)
    for lid in outcome.succeeded:
        remaining.pop(lid, None)
    failed = set(outcome.failures)
    for lid, exc in outcome.failures.items():  # DELETE_FAILED, kept for a later destroy
        result.reason = result.reason or f"{lid}: {getattr(exc, 'reason', exc)}"
    for lid in outcome.not_started:  # dependents first: their blockers are known by then
        res = state.resources[lid]
        blockers = sorted(other for other in failed if lid in graph.get(other, ()))
        run.event(
            lid, res.type, "DELETE_SKIPPED", f"{', '.join(blockers)} could not be deleted", res.physical_id
        )
        failed.add(lid)
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
