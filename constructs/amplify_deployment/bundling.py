"""The handler's Lambda code asset, bundled at synth time without Docker and without network.

The asset's root holds two packages: `amplify_deployment_handler/` (our handler) and `crhelper/`
(copied from the Python environment that runs the CDK app, where it is a dependency of this
library). Only `.py` files and `py.typed` are copied, in sorted order, so the asset's hash depends
on the code alone.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

HANDLER_PACKAGE = "amplify_deployment_handler"
BUNDLED_PACKAGES = (HANDLER_PACKAGE, "crhelper")
HANDLER = f"{HANDLER_PACKAGE}.index.handler"


def package_dir(name: str) -> Path:
    """The folder of an importable package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        if name == HANDLER_PACKAGE:
            # Running from a source checkout without `pip install`: lambda/ sits beside constructs/.
            candidate = Path(__file__).resolve().parents[2] / "lambda" / HANDLER_PACKAGE
            if candidate.is_dir():
                return candidate
        raise RuntimeError(
            f"amplify_deployment: cannot find the Python package {name!r} to bundle into the "
            f"handler's code asset; install this library with pip (it depends on it)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def copy_package(src: Path, dest: Path) -> None:
    for path in sorted(src.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        if path.suffix != ".py" and path.name != "py.typed":
            continue
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def bundle_into(output_dir: str | Path) -> None:
    out = Path(output_dir)
    for name in BUNDLED_PACKAGES:
        copy_package(package_dir(name), out / name)


@jsii.implements(cdk.ILocalBundling)
class _LocalBundling:
    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: object) -> bool:
        bundle_into(output_dir)
        return True


def handler_code() -> lambda_.Code:
    source = package_dir(HANDLER_PACKAGE)
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            # Never used: local bundling always succeeds. CDK requires an image to be named.
            image=cdk.DockerImage.from_registry("public.ecr.aws/lambda/python:3.14"),
            local=_LocalBundling(),
        ),
    )
