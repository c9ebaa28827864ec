"""``amplify-sandbox deploy [APP_DIR] [-c KEY=VALUE]... [--knob NAME=VALUE]... [--once]``,
``amplify-sandbox diff [APP_DIR]``,
``amplify-sandbox destroy [APP_DIR]``."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from amplify_deployment_handler.changes import DATA_KEYS, short_summary
from amplify_sandbox.driver.provisioners.placeholder import placeholder_line
from amplify_sandbox.driver.results import DeployResult
from amplify_sandbox.driver.stack import STATE_DIR_NAME, LocalStack, deployment_targets
from amplify_sandbox.driver.state import StackState
from amplify_sandbox.driver.synth import parse_context_option
from amplify_sandbox.emulator.knobs import Knobs


def register(subparsers: Any) -> None:
    deploy = subparsers.add_parser(
        "deploy",
        formatter_class=_KnobsEpilogFormatter,
        epilog=knobs_epilog(),
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
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value for the app, as `cdk deploy -c` (repeatable; a string; wins over "
        "cdk.json and cdk.context.json)",
    )
    deploy.add_argument(
        "--knob",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an Amplify emulator knob for this run, to rehearse the stack under Amplify's limits and "
        "faults (a small quota, slow jobs, injected failures) before deploying it to AWS; repeatable; "
        "e.g. --knob max_concurrent_jobs=2 --knob job_duration=15 (the knobs are listed below)",
    )
    deploy.add_argument(
        "--once",
        action="store_true",
        help="exit after deploying, without serving the sites (status 0 on success, 1 otherwise)",
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
    register_diff(subparsers)


#: the first line of the deploy command's epilog: the knobs, one a line, with their own help texts
KNOBS_HEADING = "emulator knobs (--knob NAME=VALUE):"


def knobs_epilog() -> str:
    """Every knob with its default and its own help text (emulator/knobs.py), one a line."""
    lines = [KNOBS_HEADING]
    for f in dataclasses.fields(Knobs):
        lines.append(f"  {f.name} (default {f.default}): {Knobs.help_of(f.name)}")
    return "\n".join(lines)


class _KnobsEpilogFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that the knobs' list keeps its lines (each wrapped on its own)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if not text.startswith(KNOBS_HEADING):
            return super()._fill_text(text, width, indent)
        out = []
        for line in text.splitlines():
            body = line.lstrip()
            lead = indent + line[: len(line) - len(body)]
            out.append(textwrap.fill(body, width, initial_indent=lead, subsequent_indent=lead + "    "))
        return "\n".join(out)


def parse_knob_options(options: list[str]) -> dict[str, Any]:
    """``--knob NAME=VALUE`` options -> knob values, checked as the emulator checks them (name, type,
    range, choices): a ValueError names the bad one."""
    raw: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--knob wants NAME=VALUE, got {option!r}")
        raw[name.strip()] = value.strip()
    checked = Knobs()
    checked.update(raw)
    return {name: getattr(checked, name) for name in raw}


def _sandbox(app_dir: Path) -> Any:
    from amplify_sandbox import Sandbox

    return Sandbox(state_dir=app_dir / STATE_DIR_NAME / "emulator")


def _app_and_context(args: argparse.Namespace) -> tuple[Path, dict[str, str]] | None:
    """The app folder and ``-c`` context of ``deploy`` and ``diff``; None (the error printed) when
    the folder has no cdk.json or a ``-c`` option is malformed."""
    app_dir = Path(args.app_dir).resolve()
    if not (app_dir / "cdk.json").is_file():
        print(f"error: {app_dir} has no cdk.json (pass the CDK app's folder)", file=sys.stderr)
        return None
    try:
        return app_dir, dict(parse_context_option(c) for c in args.context)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def run_deploy(args: argparse.Namespace) -> int:
    try:
        knobs = parse_knob_options(args.knob)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = _app_and_context(args)
    if app is None:
        return 2
    app_dir, context = app
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with _sandbox(app_dir) as sb:
            if knobs:
                sb.emulator.set_knobs(**knobs)
                print("Emulator knobs: " + ", ".join(f"{k}={v}" for k, v in knobs.items()), flush=True)
            lines = QuietNoChange()
            driver = LocalStack(app_dir, sb, context=context, log=lines)
            try:
                result = driver.deploy()
                lines.flush()
            except KeyboardInterrupt:
                print(
                    "Interrupted: what was done so far is recorded; run deploy again to continue.",
                    file=sys.stderr,
                    flush=True,
                )
                return 130
            states = [driver.store.load(s.stack_name) for s in result.stacks]
            placeholders = placeholder_line([s for s in states if isinstance(s, StackState)])
            if placeholders:
                print(placeholders, flush=True)
            sites = driver.site_urls(result)
            notes = change_notes(result, states) if result.ok else {}
            for (app_id, branch, _), line in zip(sites, site_lines(sb, sites), strict=True):
                print(line, flush=True)
                if (app_id, branch) in notes:
                    print(f"  files: {notes[(app_id, branch)]}", flush=True)
            for line in domain_site_lines(sb, sites):
                print(line, flush=True)
            if not result.ok:
                reason = result.error or next((s.reason for s in result.stacks if not s.ok), "")
                print(f"Deploy failed: {reason}", file=sys.stderr, flush=True)
                return 1
            if args.once:
                if driver.site_urls(result):
                    print(
                        "Not serving (--once): the Site: URLs above stop answering now; run "
                        "`amplify-sandbox deploy` without --once to serve them.",
                        flush=True,
                    )
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


def change_notes(result: DeployResult, states: list[Any]) -> dict[tuple[str, str], str]:
    """(app id, branch) -> what this deploy changed in its files (``+3 ~2 -1``, ``unchanged``), from
    the FilesAdded/FilesChanged/FilesRemoved of each deployment's answer; a deployment this run did
    not send (its properties did not change) left its branch ``unchanged (not redeployed)``."""
    notes: dict[tuple[str, str], str] = {}
    for state in states:
        if isinstance(state, StackState):
            for target in deployment_targets(state):
                notes[target] = "unchanged (not redeployed)"
    for request in result.requests:
        props, data = request.resource_properties, request.data
        if request.rollback or request.status != "SUCCESS" or request.request_type == "Delete":
            continue
        target = (str(props.get("AppId")), str(props.get("BranchName")))
        if not all(key in data for key in DATA_KEYS):
            continue  # not a deployment of this library (or an older handler)
        counts = [str(data[key]) for key in DATA_KEYS]
        if all(c.isdigit() for c in counts):
            notes[target] = short_summary(*(int(c) for c in counts))
        else:
            notes[target] = "not counted (the handler's `changes` line above says why)"
    return notes


def register_diff(subparsers: Any) -> None:
    diff = subparsers.add_parser(
        "diff",
        help="print the files a deploy would add, change and remove on each branch, without deploying",
        description="Synthesize the CDK app in APP_DIR and compare, per branch, the site each "
        "deployment would send with what the sandbox serves now (the last deployed properties "
        f"recorded in APP_DIR/{STATE_DIR_NAME}/): `+ path` added, `~ path` changed, `- path` removed. "
        "Nothing is deployed and no server is started.",
    )
    diff.add_argument(
        "app_dir",
        nargs="?",
        default=".",
        metavar="APP_DIR",
        help="the folder with cdk.json (default: the current folder)",
    )
    diff.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value for the app, as `cdk diff -c` (repeatable)",
    )
    diff.set_defaults(func=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    from amplify_sandbox.driver.site_diff import diff_app, diff_lines
    from amplify_sandbox.driver.synth import SynthError

    app = _app_and_context(args)
    if app is None:
        return 2
    app_dir, context = app
    driver = LocalStack(app_dir, None, context=context, log=lambda line: print(line, file=sys.stderr))
    try:
        assembly = driver.synth()
    except SynthError as exc:
        print(f"Diff failed: {exc}", file=sys.stderr, flush=True)
        return 1
    found = list(
        diff_app(assembly, driver.store.load, driver.state_dir / "assets", driver.account, driver.region)
    )
    if not found:
        print("No AmplifyDeployment in the app: nothing to compare.", flush=True)
    for branch in found:
        for line in diff_lines(branch):
            print(line, flush=True)
    return 0


def domain_site_lines(sb: Any, sites: list[tuple[str, str, str]]) -> list[str]:
    """``Site: http://<host>.localhost:PORT/  (app <name> <id>, branch <branch>, domain <host>)`` per
    host of the custom domains of the apps of ``sites`` (the branch lines), after them."""
    lines = []
    for app_id in dict.fromkeys(app_id for app_id, _, _ in sites):
        for host, branch, url in sb.emulator.domain_urls(app_id):
            label = site_lines(sb, [(app_id, branch, url)])[0].split("  (", 1)[1].rstrip(")")
            lines.append(f"Site: {url}  ({label}, domain {host})")
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


class QuietNoChange:
    """The deploy's progress lines, printed, with a stack that has nothing to change told in one
    line (``<Stack>: no changes``) rather than ``UPDATE_IN_PROGRESS``, ``no changes`` and
    ``UPDATE_COMPLETE``: a stack's ``UPDATE_IN_PROGRESS`` is held until its next line shows whether
    anything happens."""

    def __init__(self) -> None:
        self._held: dict[str, str] = {}  # stack -> its held UPDATE_IN_PROGRESS line
        self._unchanged: set[str] = set()  # stacks whose final status line is dropped

    def __call__(self, line: str) -> None:
        stack, sep, rest = line.partition(": ")
        if sep and " " not in stack and rest == "UPDATE_IN_PROGRESS":
            self._held[stack] = line
            return
        for name in list(self._held):
            if line.startswith((f"{name}: ", f"{name} | ")):
                held = self._held.pop(name)
                if line == f"{name}: no changes":
                    self._unchanged.add(name)
                else:
                    print(held, flush=True)
        if sep and stack in self._unchanged and rest.endswith("_COMPLETE") and " " not in rest:
            self._unchanged.discard(stack)
            return
        print(line, flush=True)

    def flush(self) -> None:
        for held in self._held.values():
            print(held, flush=True)
        self._held.clear()
