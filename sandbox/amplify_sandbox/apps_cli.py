"""``amplify-sandbox create-app [APP_DIR] [--branch NAME]... [--name NAME]``: an Amplify app made
outside any stack (as in the console), with its branches, in the emulator state of APP_DIR, so a
stack that deploys into an existing app (``examples/existing_app``) runs locally:

    amplify-sandbox create-app examples/existing_app --branch main    # prints the app id
    amplify-sandbox deploy examples/existing_app -c appId=<that id> -c branch=main

The app has no repository (manual deployments only, as the construct requires).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

STATE_DIR_NAME = ".amplify-sandbox"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "create-app",
        help="create an Amplify app (no repository) and its branches in APP_DIR's sandbox; print its id",
        description="Create an Amplify app with no repository, and its branches, in the emulator state of "
        f"APP_DIR ({STATE_DIR_NAME}/emulator/, the one `amplify-sandbox deploy APP_DIR` uses), as an app "
        "made in the console would be; print the app id on stdout. Then deploy a stack that targets it, "
        "e.g. `amplify-sandbox deploy APP_DIR -c appId=<id> -c branch=main`. Run it while no deploy of "
        "APP_DIR is serving (both would write the emulator's state).",
    )
    parser.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the CDK app's folder whose sandbox gets the app (default: the current folder)",
    )
    parser.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="NAME",
        help="a branch to create (repeatable; default: main)",
    )
    parser.add_argument("--name", default=None, help="the app's name (default: APP_DIR's folder name)")
    parser.set_defaults(func=run_create_app)


def run_create_app(args: argparse.Namespace) -> int:
    from amplify_sandbox.emulator.sandbox import Sandbox

    app_dir = Path(args.app_dir).resolve()
    if not app_dir.is_dir():
        print(f"error: {app_dir} is not a folder (pass the CDK app's folder)", file=sys.stderr)
        return 2
    branches = args.branch or ["main"]
    name = args.name or app_dir.name
    with Sandbox(state_dir=app_dir / STATE_DIR_NAME / "emulator") as sb:
        amplify = sb.client("amplify")
        app_id = str(amplify.create_app(name=name)["app"]["appId"])
        for branch in branches:
            amplify.create_branch(appId=app_id, branchName=branch)
    contexts = " ".join(["-c appId=" + app_id, *("-c branch=" + b for b in branches[:1])])
    print(
        f"Created app {app_id} ({name}) with branch(es) {', '.join(branches)} in "
        f"{app_dir / STATE_DIR_NAME / 'emulator'}; deploy into it with: "
        f"amplify-sandbox deploy {args.app_dir} {contexts}",
        file=sys.stderr,
        flush=True,
    )
    print(app_id, flush=True)
    return 0
