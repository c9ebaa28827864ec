"""``amplify-sandbox deploy [APP_DIR]`` and ``amplify-sandbox destroy [APP_DIR]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from amplify_sandbox.driver.stack import STATE_DIR_NAME, LocalStack


def register(subparsers: Any) -> None:
    deploy = subparsers.add_parser(
        "deploy",
        help="deploy or update a CDK app's stacks in the local sandbox, then serve its sites",
        description="Synthesize the CDK app in APP_DIR (no Node CDK CLI needed), publish its assets to a "
        "local S3, create or update its Amplify apps and branches in the emulator, run its custom "
        "resources' Lambda handlers locally, then serve the deployed sites until Ctrl-C. State is kept in "
        f"APP_DIR/{STATE_DIR_NAME}/, so the next run updates.",
    )
    deploy.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the folder with cdk.json (default: the current folder)",
    )
    deploy.add_argument(
        "--once", action="store_true", help="exit after deploying: status 0 on success, 1 otherwise"
    )
    deploy.set_defaults(func=run_deploy)

    destroy = subparsers.add_parser(
        "destroy",
        help="delete the stacks deployed from APP_DIR (sends Delete to custom resources)",
        description="Delete what `deploy` created for APP_DIR, using the state in "
        f"APP_DIR/{STATE_DIR_NAME}/.",
    )
    destroy.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the folder with cdk.json (default: the current folder)",
    )
    destroy.set_defaults(func=run_destroy)


def _sandbox(app_dir: Path) -> Any:
    from amplify_sandbox import Sandbox

    return Sandbox(state_dir=app_dir / STATE_DIR_NAME / "emulator")


def run_deploy(args: argparse.Namespace) -> int:
    app_dir = Path(args.app_dir).resolve()
    if not (app_dir / "cdk.json").is_file():
        print(f"error: {app_dir} has no cdk.json (pass the CDK app's folder)", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with _sandbox(app_dir) as sb:
            driver = LocalStack(app_dir, sb)
            try:
                result = driver.deploy()
            except KeyboardInterrupt:
                print(
                    "Interrupted: what was done so far is recorded; run deploy again to continue.",
                    file=sys.stderr,
                    flush=True,
                )
                return 130
            for line in site_lines(sb, driver.site_urls(result)):
                print(line, flush=True)
            if not result.ok:
                reason = result.error or next((s.reason for s in result.stacks if not s.ok), "")
                print(f"Deploy failed: {reason}", file=sys.stderr, flush=True)
                return 1
            if args.once:
                return 0
            print("Serving; press Ctrl-C to stop.", flush=True)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
            print("Stopped.", flush=True)
            return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def site_lines(sb: Any, sites: list[tuple[str, str, str]]) -> list[str]:
    """``Site: <url>  (app <name> <id>, branch <branch>)`` per branch: the URL first (scripts read
    the second word), then which app and branch it serves."""
    names: dict[str, str] = {}
    lines = []
    for app_id, branch, url in sites:
        if app_id not in names:
            try:
                names[app_id] = str(sb.client("amplify").get_app(appId=app_id)["app"]["name"])
            except Exception:  # the name is only a label
                names[app_id] = "?"
        lines.append(f"Site: {url}  (app {names[app_id]} {app_id}, branch {branch})")
    return lines


def run_destroy(args: argparse.Namespace) -> int:
    app_dir = Path(args.app_dir).resolve()
    with _sandbox(app_dir) as sb:
        driver = LocalStack(app_dir, sb)
        if not driver.store.stack_names():
            print(f"Nothing to destroy: no deployed stack recorded in {driver.store.stacks_dir}", flush=True)
            return 0
        result = driver.destroy()
        if not result.ok:
            reason = result.error or next((s.reason for s in result.stacks if not s.ok), "")
            print(f"Destroy failed: {reason}", file=sys.stderr, flush=True)
            return 1
        return 0
