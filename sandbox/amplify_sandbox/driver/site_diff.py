"""``amplify-sandbox diff``: the files a deploy would add, change and remove on each branch, compared
with what the sandbox serves now, without deploying.

What the sandbox serves is what the last successful deployment of each ``Custom::AmplifyDeployment``
sent: its properties recorded in the stack's state (a failed update that rolled back leaves the
previous ones there). The app is synthesized; each deployment's new properties are resolved against
the recorded stack (a value that only the deploy can know, e.g. the id of an app not created yet,
stays ``<known at deploy>``, so a deploy-time value that holds one counts as changed). Both sites
are listed from their zips' central directories, read locally: the sandbox's copy of every asset it
published (``.amplify-sandbox/assets/``) and the new assets in the cloud assembly. The comparison
itself is the handler's (``amplify_deployment_handler.changes``), so ``diff`` names the files whose
counts ``deploy`` then prints.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amplify_deployment_handler import changes
from amplify_deployment_handler import plan as planning
from amplify_deployment_handler.props import DeploymentProps, PropsError, parse_props
from amplify_sandbox.driver import assets as assets_mod
from amplify_sandbox.driver.resolver import (
    NO_VALUE,
    ResolveContext,
    ResolveError,
    intrinsic_name,
    parameter_defaults,
    pseudo_parameters,
    resolve,
    stringify_scalars,
)
from amplify_sandbox.driver.state import StackState
from amplify_sandbox.driver.synth import CloudAssembly, FileAsset

#: a value only the deploy can know (a resource not created yet)
UNKNOWN = "<known at deploy>"
DEPLOYMENT_TYPE = "Custom::AmplifyDeployment"


@dataclass
class BranchDiff:
    """One deployment's comparison: which branch, and its changes or why there are none."""

    stack: str
    logical_id: str
    app_id: str
    branch: str
    outcome: changes.Outcome
    new: bool  # not deployed yet: every file is added


class ZipFinder:
    """Opens a source zip by its S3 address, locally: the sandbox's copy of what it published, else
    the new asset in the cloud assembly (a folder is zipped in memory as the driver publishes it)."""

    def __init__(self, asset_cache: Path, assembly: CloudAssembly, account: str, region: str) -> None:
        self.asset_cache = asset_cache
        self.assets: dict[tuple[str, str], FileAsset] = {}
        for stack in assembly.stacks:
            for asset in stack.assets:
                for raw_bucket, raw_key in asset.destinations:
                    bucket = assets_mod.substitute_placeholders(raw_bucket, account, region)
                    key = assets_mod.substitute_placeholders(raw_key, account, region)
                    self.assets[(bucket, key)] = asset

    def open(self, bucket: str, key: str) -> zipfile.ZipFile:
        cached = self.asset_cache / bucket / key
        if cached.is_file():
            return zipfile.ZipFile(cached)
        asset = self.assets.get((bucket, key))
        if asset is None:
            raise LookupError(
                f"s3://{bucket}/{key} is neither an asset of this app nor in the sandbox's copies"
            )
        if asset.packaging == "file":
            return zipfile.ZipFile(asset.path)
        buf = io.BytesIO()
        assets_mod.zip_directory(asset.path, buf)
        buf.seek(0)
        return zipfile.ZipFile(buf)


def site_of(props: DeploymentProps, finder: ZipFinder) -> changes.SiteFiles:
    """The site `props` describe, listed from its zips' central directories."""
    listings = []
    for i, s in enumerate(props.sources):
        with finder.open(s.bucket, s.key) as zf:
            listings.append(planning.list_source(zf.infolist(), i, f"Sources[{i}]"))
    return changes.site_files(props, listings)


def resolve_known(value: Any, ctx: ResolveContext) -> Any:
    """``value`` resolved as far as the recorded stack allows: what cannot be resolved yet is
    :data:`UNKNOWN`."""
    try:
        return resolve(value, ctx)
    except ResolveError:
        if intrinsic_name(value) is None:
            if isinstance(value, dict):
                items = ((k, resolve_known(v, ctx)) for k, v in value.items())
                return {k: v for k, v in items if v is not NO_VALUE}
            if isinstance(value, list):
                return [v for v in (resolve_known(item, ctx) for item in value) if v is not NO_VALUE]
        return UNKNOWN


def recorded_context(
    template: dict[str, Any], state: StackState | None, pseudo: dict[str, Any]
) -> ResolveContext:
    refs: dict[str, Any] = dict(parameter_defaults(template))
    attributes: dict[str, Any] = {}
    if state is not None:
        for lid, res in state.resources.items():
            refs[lid] = res.ref
            attributes[lid] = res.attributes
    resources = template.get("Resources") or {}
    return ResolveContext(
        pseudo=pseudo,
        refs=refs,
        attributes=attributes,
        types={lid: r.get("Type", "?") for lid, r in resources.items()},
        declared=set(resources) | set(template.get("Parameters") or {}),
    )


def diff_app(
    assembly: CloudAssembly,
    load_state: Callable[[str], StackState | None],
    asset_cache: Path,
    account: str,
    region: str,
) -> Iterator[BranchDiff]:
    """Per deployment of every stack of the synthesized app: what a deploy would change."""
    finder = ZipFinder(asset_cache, assembly, account, region)
    for stack in assembly.stacks:
        state = load_state(stack.stack_name)
        stack_id = state.stack_id if state is not None else UNKNOWN
        pseudo = pseudo_parameters(
            account=account, region=region, stack_name=stack.stack_name, stack_id=stack_id
        )
        ctx = recorded_context(stack.template, state, pseudo)
        for lid, resource in (stack.template.get("Resources") or {}).items():
            if resource.get("Type") != DEPLOYMENT_TYPE:
                continue
            raw = stringify_scalars(resolve_known(resource.get("Properties") or {}, ctx))
            old_res = state.resources.get(lid) if state is not None else None
            yield _one(stack.stack_name, lid, raw, old_res.properties if old_res else None, finder)


def _one(
    stack: str, lid: str, raw: dict[str, Any], old_raw: dict[str, Any] | None, finder: ZipFinder
) -> BranchDiff:
    app_id, branch = str(raw.get("AppId", "?")), str(raw.get("BranchName", "?"))
    try:
        props = parse_props(raw if app_id != UNKNOWN else {**raw, "AppId": "d0"})
    except PropsError as exc:
        return BranchDiff(
            stack, lid, app_id, branch, changes.NotCounted(f"its properties are invalid: {exc}"), False
        )
    try:
        new = site_of(props, finder)
    except (LookupError, OSError, zipfile.BadZipFile, planning.PlanError) as exc:
        return BranchDiff(
            stack, lid, app_id, branch, changes.NotCounted(f"the new site cannot be read: {exc}"), False
        )
    if old_raw is None:
        return BranchDiff(stack, lid, app_id, branch, changes.compare({}, new), True)
    try:
        old = site_of(parse_props(old_raw), finder)
    except (PropsError, LookupError, OSError, zipfile.BadZipFile, planning.PlanError) as exc:
        why = f"what the sandbox serves cannot be read: {exc}"
        return BranchDiff(stack, lid, app_id, branch, changes.NotCounted(why), False)
    return BranchDiff(stack, lid, app_id, branch, changes.compare(old, new), False)


def diff_lines(found: BranchDiff) -> list[str]:
    """The printed lines of one branch: a heading, then ``+ path`` / ``~ path`` / ``- path`` and the
    counts, or ``unchanged``."""
    state = " (not deployed yet)" if found.new else ""
    head = f"Branch {found.branch} of app {found.app_id}{state}  ({found.stack} {found.logical_id})"
    outcome = found.outcome
    if isinstance(outcome, changes.NotCounted):
        return [head, f"  not compared: {outcome.why}"]
    if outcome.unchanged:
        return [head, "  unchanged"]
    lines = [head]
    lines += [f"  + {p}" for p in outcome.added]
    lines += [f"  ~ {p}" for p in outcome.changed]
    lines += [f"  - {p}" for p in outcome.removed]
    n_added, n_changed, n_removed = len(outcome.added), len(outcome.changed), len(outcome.removed)
    summary = changes.short_summary(n_added, n_changed, n_removed)
    lines.append(f"  {summary}  ({n_added} added, {n_changed} changed, {n_removed} removed)")
    return lines
