"""The `amplify-sandbox` command line: each part of the sandbox registers its own sub-commands."""

from __future__ import annotations

import argparse
import sys


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
