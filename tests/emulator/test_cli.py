"""`amplify-sandbox emulator`: prints the two endpoint lines, applies knob flags, exits 0 on SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import urllib.request

from amplify_sandbox import emulator_cli
from amplify_sandbox.emulator.knobs import Knobs

from ._helpers import amplify_client, make_zip, put


def _start(
    *args: str, command: tuple[str, ...] = ("amplify_sandbox", "emulator")
) -> tuple[subprocess.Popen[str], list[str]]:
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().rstrip("\n") for _ in range(2)]
    return proc, lines


def test_emulator_command_prints_endpoints_applies_knobs_and_stops_on_sigterm() -> None:
    proc, lines = _start(
        "--job-duration", "1.5", "--fail-next-jobs", "2", "--throttle-code", "LimitExceededException"
    )
    try:
        assert lines[0].startswith("AWS_ENDPOINT_URL_AMPLIFY=http://127.0.0.1:")
        assert lines[1].startswith("AWS_ENDPOINT_URL_S3=http://127.0.0.1:")
        amplify = lines[0].split("=", 1)[1]
        s3 = lines[1].split("=", 1)[1]
        with urllib.request.urlopen(amplify + "/_sandbox/knobs", timeout=10) as resp:
            knobs = json.loads(resp.read())
        assert (knobs["job_duration"], knobs["fail_next_jobs"]) == (1.5, 2)
        assert knobs["throttle_code"] == "LimitExceededException"
        client = amplify_client(amplify)
        app_id = client.create_app(name="cli")["app"]["appId"]
        client.create_branch(appId=app_id, branchName="main")
        url = client.create_deployment(appId=app_id, branchName="main")["zipUploadUrl"]
        assert put(url, make_zip({"index.html": "x"}))[0] == 200
        assert put(url + "0", b"not signed")[0] == 403
        signature = url.split("X-Amz-Signature=")[1]
        with urllib.request.urlopen(
            urllib.request.Request(s3 + "/moto-api/reset", method="POST"), timeout=10
        ):
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == ""  # exactly the two lines, nothing else on stdout
    assert "X-Amz-Signature" not in err and signature not in err  # upload URLs are never logged


def test_ctrl_c_exits_zero() -> None:
    proc, lines = _start(command=("amplify_sandbox.emulator_cli",))  # the sub-command's own entry point
    assert lines[0].startswith("AWS_ENDPOINT_URL_AMPLIFY=")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_every_knob_has_a_flag_and_bad_values_are_refused() -> None:
    parser = argparse.ArgumentParser()
    emulator_cli.register(parser.add_subparsers(dest="command"))
    flags = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(Knobs)]
    argv = ["emulator", "--port", "0", "--s3-port", "0"]
    for flag, f in zip(flags, dataclasses.fields(Knobs), strict=True):
        argv += [flag, "LimitExceededException" if f.name == "throttle_code" else "1"]
    args = parser.parse_args(argv)
    assert emulator_cli.knobs_from_args(args).keys() == {f.name for f in dataclasses.fields(Knobs)}
    assert args.func is emulator_cli.run
    proc = subprocess.run(
        [sys.executable, "-m", "amplify_sandbox", "emulator", "--throttle-code", "Nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "throttle_code" in proc.stderr
