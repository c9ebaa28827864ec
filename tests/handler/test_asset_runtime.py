"""The handler as Lambda runs it: from an asset folder holding only `amplify_deployment_handler/` and
`crhelper/`, in an isolated interpreter (-I -S) that can import only the stdlib and what the Lambda
Python runtime ships (boto3 and its dependencies), invoked with `amplify_deployment_handler.index.handler`."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from handler_support import cfn_event, the_answer

from amplify_sandbox import lambda_env
from amplify_sandbox.driver.lambda_runner import runtime_dir

REPO = Path(__file__).resolve().parents[2]


def _interpreters() -> dict[str, str]:
    """This interpreter plus any newer CPython found on PATH or in pyenv (Lambda runs 3.14); the
    runtime folder's boto3 and crhelper are pure Python, so they load in any of them."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    candidates = [shutil.which(f"python3.{minor}") for minor in range(12, 16)]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.1[2-9]*/bin/python"))
    for exe in candidates:
        if not exe:
            continue
        try:
            out = subprocess.run(
                [exe, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        version = out.stdout.strip()
        if out.returncode == 0 and version not in found:
            found[version] = exe
    return {v: found[v] for v in sorted(found, key=lambda v: tuple(map(int, v.split("."))))}


INTERPRETERS = _interpreters()
# argv: the asset folder, the runtime folder, lambda_env.py (loaded by its path: the sandbox package
# is not importable in the function's interpreter); then the Lambda context comes from it
PRELUDE = r"""
import importlib.util, json, sys
asset, deps, lambda_env_path = sys.argv[1], sys.argv[2], sys.argv[3]
spec = importlib.util.spec_from_file_location("lambda_env", lambda_env_path)
lambda_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lambda_env)
sys.path[:] = [asset, deps] + [p for p in sys.path if p]
"""

SCRIPT = (
    PRELUDE
    + r"""
import amplify_deployment_handler.index as index
report = {"crhelper_at_import": "crhelper" in sys.modules, "helper_at_import": index._helper is not None}
context = lambda_env.LambdaContext.for_seconds(60, function_name="fn", aws_request_id="req")
index.handler(json.loads(sys.stdin.read()), context)
banned = ("amplify_sandbox", "amplify_deployment.", "moto", "cryptography", "pytest", "requests")
report["foreign"] = sorted(m for m in sys.modules if m.startswith(banned) or m == "amplify_deployment")
print("REPORT " + json.dumps(report))
"""
)


def _asset_dir(base: Path) -> Path:
    asset = base / "asset"
    asset.mkdir()
    shutil.copytree(REPO / "lambda" / "amplify_deployment_handler", asset / "amplify_deployment_handler")
    crhelper = Path(importlib.util.find_spec("crhelper").origin).parent  # type: ignore[union-attr, arg-type]
    shutil.copytree(crhelper, asset / "crhelper")
    return asset


MEMORY_SCRIPT = (
    PRELUDE
    + r"""
import amplify_deployment_handler.index as index

for event in json.loads(sys.stdin.read()):
    index.handler(event, lambda_env.LambdaContext.for_seconds(120, function_name="fn", aws_request_id="req"))
    # VmHWM: this process's peak RSS (ru_maxrss would include the forked pytest process's)
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print("PEAK_KB", hwm.split()[1], flush=True)
"""
)


def _argv(python: str, script: str, tmp_path: Path) -> list[str]:
    asset, deps = _asset_dir(tmp_path), runtime_dir(tmp_path / "runtime")
    return [python, "-I", "-S", "-c", script, str(asset), str(deps), lambda_env.PATH]


def _run(script: str, stdin: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _argv(sys.executable, script, tmp_path),
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )


def test_memory_stays_flat_while_a_big_site_moves(site, sandbox, receiver, tmp_path):
    """48 MiB of incompressible content goes through each path (ZIP direct, ZIP merged, FILES); the
    function's peak RSS (VmHWM) grows by under 16 MiB (measured: ~1.5 MiB; reading the object into
    memory once makes it ~48 MiB): the site is streamed, never held in memory."""
    big = 48 * 1024 * 1024
    import random

    from handler_support import make_zip

    small = site.put_zip({"index.html": "warm-up"})
    blob_zip = make_zip({"index.html": "big", "big.bin": random.Random(9).randbytes(big)}, zipfile.ZIP_STORED)
    large = site.put_bytes(blob_zip)
    extra = site.put_zip({"extra.txt": "merged"})
    pid = f"{site.app_id}/{site.branch}"
    events = [
        cfn_event("Create", site.props(site.source(small)), site.receiver),  # warm-up: imports, clients
        cfn_event("Update", site.props(site.source(large)), site.receiver, pid),  # ZIP direct
        cfn_event("Update", site.props(site.source(large), site.source(extra)), site.receiver, pid),  # merged
        cfn_event("Update", site.props(site.source(large), mode="FILES"), site.receiver, pid),  # FILES
    ]
    env = {**sandbox.env(), "PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(receiver.ca_file)}
    proc = _run(MEMORY_SCRIPT, json.dumps(events), env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for event in events:
        resp = the_answer(site.receiver, event)
        assert resp["Status"] == "SUCCESS", resp["Reason"]
    peaks = [int(line.split()[1]) * 1024 for line in proc.stdout.splitlines() if line.startswith("PEAK_KB")]
    assert len(peaks) == 4
    growth = peaks[-1] - peaks[0]
    assert growth < 16 * 2**20, (
        f"peak RSS grew by {growth / 2**20:.1f} MiB while moving a {big / 2**20:.0f} MiB site"
    )
    assert (
        '"mode":"ZIP direct"' in proc.stderr
        and '"mode":"ZIP merged"' in proc.stderr
        and '"mode":"FILES"' in proc.stderr
    )


@pytest.mark.parametrize("python", list(INTERPRETERS.values()), ids=[f"py{v}" for v in INTERPRETERS])
@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_handler_runs_from_the_asset_in_an_isolated_interpreter(
    site, sandbox, receiver, tmp_path, mode, python
):
    k1 = site.put_zip({"index.html": "one", "a.txt": "a"})
    k2 = site.put_zip({"index.html": "<<marker:0xbaba:0>>"})
    props = site.props(site.source(k1), site.source(k2, {"<<marker:0xbaba:0>>": "two"}), mode=mode)
    event = cfn_event("Create", props, site.receiver)
    env = {
        **sandbox.env(),
        "PATH": "/usr/bin:/bin",
        "SSL_CERT_FILE": str(receiver.ca_file),
        "AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT": "60",
    }
    proc = subprocess.run(
        _argv(python, SCRIPT, tmp_path),
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    report = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("REPORT "))[7:])
    assert report == {"crhelper_at_import": False, "helper_at_import": False, "foreign": []}
    resp = the_answer(site.receiver, event)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"two") and site.fetch("/a.txt") == (200, b"a")
    # the handler logged its stages to stderr (no Lambda log handler here), and no URL
    assert '{"stage":"result","status":"SUCCESS","job_id":"1","files":2,' in output
    assert "X-Amz-" not in output and "/_upload/" not in output and "/cfn/" not in output
