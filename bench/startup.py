"""Target 4: what the handler costs before it does anything (import time) and its code asset's size."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from amplify_sandbox import lambda_env
from bench.harness import ROOT, dir_size

PY = sys.executable
TIMED_IMPORT = {
    "boto3": "import time; t=time.perf_counter(); import boto3; print(time.perf_counter()-t)",
    "boto3+handler": (
        "import time; t=time.perf_counter(); import boto3; "
        "import amplify_deployment_handler.index; print(time.perf_counter()-t)"
    ),
    # crhelper's import and CfnResource (three boto3 clients), on the first invocation
    "first_invocation_setup": (
        "import time, boto3, amplify_deployment_handler.index as i; "
        "t=time.perf_counter(); import crhelper; i._get_helper(); print(time.perf_counter()-t)"
    ),
}


def cold_start(repeats: int) -> dict[str, Any]:
    """Each snippet in `repeats` fresh interpreters, interleaved so that drift hits all alike.

    Like `python -I` (no user site, no current folder, no PYTHON* variable from the caller) except
    that PYTHONPATH puts lambda/ first for the snippets that import the handler."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    base.update({"AWS_DEFAULT_REGION": lambda_env.REGION, "AWS_REGION": lambda_env.REGION})
    times: dict[str, list[float]] = {name: [] for name in TIMED_IMPORT}
    for _ in range(repeats):
        for name, code in TIMED_IMPORT.items():
            env = base if name == "boto3" else dict(base, PYTHONPATH=str(ROOT / "lambda"))
            done = subprocess.run([PY, "-s", "-P", "-c", code], capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"cold start {name!r} failed:\n{done.stderr[-2000:]}")
            times[name].append(float(done.stdout.strip()))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "repeats": repeats,
        "median_s": med,
        "handler_import_extra_ms": round((med["boto3+handler"] - med["boto3"]) * 1000, 1),
        "samples_s": times,
    }


BUNDLE = "import sys; from amplify_deployment.bundling import bundle_into; bundle_into(sys.argv[1])"


def asset_size(work: Path) -> dict[str, Any]:
    """The Lambda code asset as the construct bundles it (`amplify_deployment.bundling.bundle_into`:
    the two packages' .py files and py.typed), zipped with deflate level 9 (as CDK zips assets).
    Bundled in a child process: importing the construct library starts the jsii runtime (node),
    which must not stay alive beside the measured runs."""
    out = work / "asset"
    done = subprocess.run([PY, "-c", BUNDLE, str(out)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"bundle_into failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    zpath = work / "asset.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for p in sorted(out.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(out).as_posix())
    return {
        "zipped_bytes": zpath.stat().st_size,
        "unzipped_bytes": dir_size(out),
        "files": sum(1 for p in out.rglob("*") if p.is_file()),
        "how": "constructs/amplify_deployment/bundling.py bundle_into()",
    }
