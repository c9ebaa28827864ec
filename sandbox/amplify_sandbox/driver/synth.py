"""Synthesize a CDK app into a cloud assembly without the Node CDK CLI, and read the assembly.

What ``cdk synth`` does, minus the CLI: run cdk.json's ``app`` command in the app folder with
``CDK_OUTDIR`` and ``CDK_CONTEXT_JSON`` set (cdk.json's ``context``, then cdk.context.json, plus the
defaults the CLI adds), then read ``manifest.json``, each stack's template and its
``<stack>.assets.json``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_sandbox.driver.graph import topological_order

# What the CDK CLI adds to the context of every synth by default (aws-cdk CLI, `cdk synth`).
CLI_DEFAULT_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")


class SynthError(Exception):
    """The app could not be synthesized, or its cloud assembly could not be read."""


@dataclass
class FileAsset:
    id: str
    display_name: str
    path: Path  # absolute: a directory (packaging "zip") or a file (packaging "file")
    packaging: str  # "zip" | "file"
    destinations: list[tuple[str, str]]  # (bucket with ${AWS::...} placeholders, object key)


@dataclass
class StackArtifact:
    artifact_id: str
    stack_name: str
    template_file: Path
    template: dict[str, Any]
    assets: list[FileAsset] = field(default_factory=list)
    docker_images: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


@dataclass
class CloudAssembly:
    outdir: Path
    manifest: dict[str, Any]
    stacks: list[StackArtifact]

    def stack(self, name: str) -> StackArtifact:
        for stack in self.stacks:
            if name in (stack.stack_name, stack.artifact_id):
                return stack
        raise SynthError(
            f"no stack named {name} in {self.outdir} (stacks: "
            f"{', '.join(s.stack_name for s in self.stacks) or 'none'})"
        )


def read_cdk_json(app_dir: Path) -> dict[str, Any]:
    path = app_dir / "cdk.json"
    if not path.is_file():
        raise SynthError(f'{path} not found: the app folder must hold a cdk.json with an "app" command')
    try:
        config = json.loads(path.read_text())
    except ValueError as exc:
        raise SynthError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("app"), str):
        raise SynthError(f'{path} has no "app" command (e.g. "python3 app.py")')
    return config


def synth_context(
    app_dir: Path, config: dict[str, Any], overrides: dict[str, str] | None = None
) -> dict[str, Any]:
    """The context the CLI would pass: CLI defaults, cdk.json's context, cdk.context.json, then the
    command line's ``-c key=value`` (``overrides``, strings as the CDK CLI passes them), which win."""
    context = dict(CLI_DEFAULT_CONTEXT)
    context.update(config.get("context") or {})
    cached = app_dir / "cdk.context.json"
    if cached.is_file():
        context.update(json.loads(cached.read_text()))
    context.update(overrides or {})
    return context


def parse_context_option(assignment: str) -> tuple[str, str]:
    """``key=value`` of a ``-c``/``--context`` option, as the CDK CLI reads it: split at the first
    ``=``, the value a string (possibly empty); ``aws:`` keys are reserved."""
    key, sep, value = assignment.partition("=")
    if not sep or not key:
        raise ValueError(f"-c needs key=value, got {assignment!r}")
    if key.startswith("aws:"):
        raise ValueError(f"-c {key}: context keys prefixed with 'aws:' are reserved for the CDK")
    return key, value


def app_command(app: str) -> list[str]:
    """cdk.json's ``app`` as argv; a leading ``python``/``python3`` becomes the current interpreter."""
    argv = shlex.split(app)
    if argv and _PYTHON.match(argv[0]):
        argv[0] = sys.executable
    return argv


def synthesize(
    app_dir: Path,
    outdir: Path | None = None,
    *,
    account: str,
    region: str,
    log: Callable[[str], None] = print,
    context: dict[str, str] | None = None,
) -> CloudAssembly:
    """Run the app and read the cloud assembly it writes (to ``outdir``, default APP_DIR/cdk.out,
    or cdk.json's ``output``). ``context``: the command line's ``-c key=value`` values."""
    app_dir = app_dir.resolve()
    config = read_cdk_json(app_dir)
    app = config["app"]
    prebuilt = app_dir / app
    if prebuilt.is_dir() and (prebuilt / "manifest.json").is_file():
        log(f"synth: using the cloud assembly in {prebuilt}")
        return read_assembly(prebuilt)
    outdir = (outdir or app_dir / config.get("output", "cdk.out")).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "CDK_OUTDIR": str(outdir),
            "CDK_CONTEXT_JSON": json.dumps(synth_context(app_dir, config, context)),
            "CDK_DEFAULT_ACCOUNT": account,
            "CDK_DEFAULT_REGION": region,
        }
    )
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    argv = app_command(app)
    log(f"synth: {app} (in {app_dir})")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=app_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise SynthError(f"could not run the app command {app!r} from {app_dir / 'cdk.json'}: {exc}") from exc
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail = (tail + [line])[-20:]
        if line.startswith("b'!!") or not line.strip():
            continue  # jsii's Node version banner
        log(f"synth | {line}")
    code = proc.wait()
    if code != 0:
        raise SynthError(
            f"the app command {app!r} failed with exit status {code}; its last lines:\n" + "\n".join(tail)
        )
    return read_assembly(outdir)


def read_assembly(outdir: Path) -> CloudAssembly:
    manifest_path = outdir / "manifest.json"
    if not manifest_path.is_file():
        raise SynthError(f"{manifest_path} not found: the app did not synthesize (does it call app.synth()?)")
    manifest = json.loads(manifest_path.read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts") or {}
    stacks: list[StackArtifact] = []
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact.get("properties") or {}
        template_file = outdir / props["templateFile"]
        stack = StackArtifact(
            artifact_id=artifact_id,
            stack_name=props.get("stackName") or artifact_id,
            template_file=template_file,
            template=json.loads(template_file.read_text()),
            dependencies=[
                d
                for d in artifact.get("dependencies") or []
                if artifacts.get(d, {}).get("type") == "aws:cloudformation:stack"
            ],
        )
        for dep in artifact.get("dependencies") or []:
            dep_artifact = artifacts.get(dep) or {}
            if dep_artifact.get("type") == "cdk:asset-manifest":
                assets, images = read_asset_manifest(outdir / dep_artifact["properties"]["file"], outdir)
                stack.assets.extend(assets)
                stack.docker_images.extend(images)
        stacks.append(stack)
    return CloudAssembly(outdir=outdir, manifest=manifest, stacks=_in_dependency_order(stacks))


def read_asset_manifest(path: Path, outdir: Path) -> tuple[list[FileAsset], list[str]]:
    data = json.loads(path.read_text())
    assets = []
    for asset_id, entry in (data.get("files") or {}).items():
        source = entry.get("source") or {}
        if "path" not in source:
            raise SynthError(
                f"asset {asset_id} in {path.name} has no source path (executable assets are "
                "not supported by the local driver)"
            )
        assets.append(
            FileAsset(
                id=asset_id,
                display_name=entry.get("displayName", asset_id),
                path=(outdir / source["path"]).resolve(),
                packaging=source.get("packaging", "file"),
                destinations=[
                    (d["bucketName"], d["objectKey"]) for d in (entry.get("destinations") or {}).values()
                ],
            )
        )
    return assets, list((data.get("dockerImages") or {}).keys())


def _in_dependency_order(stacks: list[StackArtifact]) -> list[StackArtifact]:
    by_id = {s.artifact_id: s for s in stacks}
    order = topological_order(list(by_id), {s.artifact_id: s.dependencies for s in stacks})
    return [by_id[artifact_id] for artifact_id in order]
