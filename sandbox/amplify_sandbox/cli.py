"""The `amplify-sandbox` command line: each part of the sandbox registers its own sub-commands."""

from __future__ import annotations

import argparse
import importlib.util
import sys

INSTALL_HINT = "pip install 'cdk-amplify-deployment[sandbox]'"
# what the `sandbox` extra brings (moto[server] brings flask and werkzeug), as import names
EXTRA_MODULES = ("moto", "boto3", "botocore", "cryptography", "flask", "werkzeug")


def build_parser() -> argparse.ArgumentParser:
    from amplify_sandbox import apps_cli, emulator_cli
    from amplify_sandbox.driver import cli as driver_cli

    parser = argparse.ArgumentParser(
        prog="amplify-sandbox",
        description="A local AWS Amplify Hosting sandbox: an Amplify emulator, a moto S3 server and a "
        "local CloudFormation-style driver for CDK apps that use amplify_deployment.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    emulator_cli.register(subparsers)
    driver_cli.register(subparsers)
    apps_cli.register(subparsers)
    return parser


def missing_modules() -> list[str]:
    """The packages of the ``sandbox`` extra that cannot be imported here."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def _missing_extra(names: list[str]) -> int:
    print(
        f"amplify-sandbox needs the sandbox extra (missing: {', '.join(names)}); install it with: "
        f"{INSTALL_HINT}",
        file=sys.stderr,
        flush=True,
    )
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help works without the extra
    missing = missing_modules()
    if missing:
        return _missing_extra(missing)
    try:
        return int(args.func(args) or 0)
    except ModuleNotFoundError as exc:  # a part of the extra that find_spec saw but cannot load
        root = (exc.name or "").split(".")[0]
        if root not in EXTRA_MODULES:
            raise
        return _missing_extra([root])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
