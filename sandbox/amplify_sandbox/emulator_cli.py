"""``amplify-sandbox emulator``: run the Amplify emulator and a moto S3 server until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from typing import Any

from .emulator.knobs import Knobs


def add_knob_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per knob (``job_duration`` -> ``--job-duration``), defaulting to 'unchanged'."""
    group = parser.add_argument_group("knobs (also settable at runtime: POST /_sandbox/knobs)")
    defaults = Knobs()
    for f in dataclasses.fields(Knobs):
        default = getattr(defaults, f.name)
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f"knob_{f.name}",
            type=type(default),
            default=None,
            metavar=type(default).__name__.upper(),
            help=f"{Knobs.help_of(f.name)} (default: {default})",
        )


def knobs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        f.name: getattr(args, f"knob_{f.name}")
        for f in dataclasses.fields(Knobs)
        if getattr(args, f"knob_{f.name}", None) is not None
    }


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emulator",
        help="run the Amplify emulator and a moto S3 server on 127.0.0.1",
        description="Run the Amplify emulator and a moto S3 server on 127.0.0.1 and print the "
        "AWS_ENDPOINT_URL_AMPLIFY=... and AWS_ENDPOINT_URL_S3=... lines to export; serve until "
        "Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--port", type=int, default=0, help="Amplify emulator port (default: a free one)")
    parser.add_argument("--s3-port", type=int, default=0, help="moto S3 server port (default: a free one)")
    parser.add_argument(
        "--state-dir", default=None, help="persist the emulator's state (apps, jobs, sites) in this folder"
    )
    add_knob_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .emulator.sandbox import Sandbox

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    # Ctrl-C and SIGTERM take the same path: set the event, leave the loop, stop the servers cleanly
    # (a KeyboardInterrupt could land anywhere, even inside a server's shutdown).
    sb = Sandbox(state_dir=args.state_dir, amplify_port=args.port, s3_port=args.s3_port)
    try:
        sb.emulator.set_knobs(**knobs_from_args(args))
    except ValueError as exc:
        print(f"amplify-sandbox emulator: {exc}", file=sys.stderr)
        return 2
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with sb:
            print(f"AWS_ENDPOINT_URL_AMPLIFY={sb.amplify_endpoint}", flush=True)
            print(f"AWS_ENDPOINT_URL_S3={sb.s3_endpoint}", flush=True)
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``emulator`` sub-command alone (``python -m amplify_sandbox.emulator_cli``)."""
    parser = argparse.ArgumentParser(prog="amplify-sandbox")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["emulator", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
