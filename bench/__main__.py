"""`python -m bench` (or `bash bench/run`): every benchmark of issue 6 in one command.

Starts the sandbox (Amplify emulator + moto S3, moto patched by bench/s3patch.py) and a local HTTPS
ResponseURL receiver in this process, generates the sites, then runs each implementation as a child
process, one at a time:
  handler    bench/runner.py: the real handler (lambda/), a CloudFormation Create event
  baseline   bench/baseline.py: the raw baselines (minimal stream / minimal PUT client)
  reference  bench/reference.py: the common approach (download to disk, extract, upload)
For each child: wall time (measured inside it), peak RSS (os.wait4 ru_maxrss of that child), bytes
read from S3 (GetObject body bytes counted inside moto), bytes written to disk (the child's own
/proc/self/io write_bytes, read just before it exits) and the peak size of its temp folder (sampled
every 50 ms). Writes bench/results/<date>.json, the table in bench/README.md and docs/bench/*.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "sandbox"))

from bench import data, report, s3patch  # noqa: E402

MiB = data.MiB
PY = sys.executable
BUCKET = "bench-assets"
LATENCY = 0.020
WORKERS = 32  # the handler's default (AMPLIFY_DEPLOYMENT_UPLOAD_WORKERS unset): the raw client uses it too
ALT_WORKERS = 16  # also measured at the main file count, handler and raw client, to choose the default


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class Servers:
    """The Amplify emulator (in this process) and moto S3 (its own process, bench/s3patch.py)."""

    def __init__(self, emulator: Any, s3: Any) -> None:
        self.emulator, self.s3 = emulator, s3

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_AMPLIFY": self.emulator.endpoint,
            "AWS_ENDPOINT_URL_S3": self.s3.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        env = self.env()
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL_AMPLIFY" if service == "amplify" else "AWS_ENDPOINT_URL_S3"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            config=Config(s3={"addressing_style": "path"}, read_timeout=300),
        )


class Bench:
    def __init__(self, sb: Servers, rx: Any, work: Path, ca_file: Path) -> None:
        self.sb, self.rx, self.work = sb, rx, work
        self.s3 = sb.client("s3")
        self.amplify = sb.client("amplify")
        self.app_id = self.amplify.create_app(name="bench")["app"]["appId"]
        self.branch = "main"
        self.amplify.create_branch(appId=self.app_id, branchName=self.branch)
        self.s3.create_bucket(Bucket=BUCKET)
        self.local: dict[str, Path] = {}
        self.sizes: dict[str, int] = {}
        self.results: list[dict[str, Any]] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AMPLIFY_DEPLOYMENT_"))}
        self.env.update(sb.env())
        self.env.update({"SSL_CERT_FILE": str(ca_file), "PYTHONDONTWRITEBYTECODE": "1"})

    # -- data ------------------------------------------------------------------------------------
    def put_object(self, key: str, path: Path) -> None:
        with open(path, "rb") as f:
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=f)
        self.local[key] = path
        self.sizes[key] = path.stat().st_size

    def drop_object(self, key: str) -> None:
        self.s3.delete_object(Bucket=BUCKET, Key=key)
        path = self.local.pop(key, None)
        if path is not None and path.exists():
            path.unlink()

    # -- running children --------------------------------------------------------------------------
    def _child(self, script: str, spec: dict, env_extra: dict[str, str], sample: Path | None) -> dict:
        env = dict(self.env, **env_extra)
        os.sync()  # so that writeback of earlier runs' (and the data's) dirty pages does not land on this one
        self.sb.s3.reset_counters()
        emu_before = self.sb.emulator.counters
        cpu_before = (proc_cpu(self.sb.s3.pid), proc_cpu(os.getpid()))
        peak = {"disk": 0}
        wrap = os.environ.get("BENCH_WRAP_HANDLER", "").split() if script == "runner.py" else []
        proc = subprocess.Popen(
            [*wrap, PY, str(BENCH / script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(self.work),
        )
        out: dict[str, bytes] = {}

        def read(name: str, stream: Any) -> None:
            out[name] = stream.read()

        readers = [
            threading.Thread(target=read, args=(n, s))
            for n, s in (("out", proc.stdout), ("err", proc.stderr))
        ]
        for t in readers:
            t.start()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        done = threading.Event()

        def sampler() -> None:
            while not done.is_set():
                if sample is not None:
                    peak["disk"] = max(peak["disk"], dir_size(sample))
                done.wait(0.05)

        st = threading.Thread(target=sampler)
        st.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        st.join()
        for t in readers:
            t.join()
        s3c = self.sb.s3.snapshot()
        cpu_after = (proc_cpu(self.sb.s3.pid), proc_cpu(os.getpid()))
        emu = self.sb.emulator.counters
        err = out.get("err", b"").decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"{script} exited {proc.returncode}:\n{err[-4000:]}")
        lines = [ln for ln in out.get("out", b"").decode().splitlines() if ln.startswith("{")]
        child = json.loads(lines[-1])
        return {
            "wall_s": round(child["wall_s"], 3),
            # VmHWM of the child's own address space, read by the child just before it exits.
            # (wait4's ru_maxrss is not used: after fork+exec Linux folds the *parent's* RSS at
            # fork time into the child's maxrss, so it shows this process's size, not the child's.)
            "peak_rss_mib": round(child["vm_hwm_kib"] / 1024, 1),
            "ru_maxrss_mib": round(usage.ru_maxrss / 1024, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "s3_server_cpu_s": round(cpu_after[0] - cpu_before[0], 2),
            "emulator_cpu_s": round(cpu_after[1] - cpu_before[1], 2),  # this process: emulator + bench
            "s3_get_bytes": s3c["get_body_bytes"],
            "s3_get_requests": s3c["get_requests"],
            "s3_head_requests": s3c["head_requests"],
            "disk_write_bytes": child["proc_io"]["write_bytes"],
            "disk_peak_bytes": peak["disk"],
            "upload_bytes": emu["bytes_received"] - emu_before["bytes_received"],
            "child": {k: v for k, v in child.items() if k not in ("proc_io", "vm_hwm_kib")},
            "stderr_tail": err[-600:] if "WARNING" in err or "ERROR" in err else "",
        }

    def _record(self, workload: str, impl: str, meta: dict, measured: dict) -> dict:
        row = {"workload": workload, "impl": impl, **meta, **measured}
        self.results.append(row)
        rss, wall = row["peak_rss_mib"], row["wall_s"]
        print(
            f"  {workload:<28} {impl:<15} {wall:8.2f} s  {rss:7.1f} MiB  "
            f"S3 {row['s3_get_bytes'] / MiB:9.1f} MiB  disk {row['disk_write_bytes'] / MiB:8.1f} MiB  "
            f"cpu {row['cpu_s']:.1f}/{row['s3_server_cpu_s']:.1f}/{row['emulator_cpu_s']:.1f} s",
            flush=True,
        )
        return row

    def knobs(self, latency: float) -> None:
        self.sb.emulator.set_knobs(latency=latency, job_duration=0.2)

    def handler(
        self,
        workload: str,
        meta: dict,
        mode: str,
        sources: list[dict],
        workers: int = WORKERS,
        chunk: int = 0,
    ) -> dict:
        tmp = self.work / "handler-tmp"
        tmp.mkdir(exist_ok=True)
        stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/" + str(uuid.uuid4())
        request_id = str(uuid.uuid4())
        url = self.rx.new_url(stack, "Site", request_id)
        event = {
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:bench",
            "ResponseURL": url,
            "StackId": stack,
            "RequestId": request_id,
            "LogicalResourceId": "Site",
            "ResourceType": "Custom::AmplifyDeployment",
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                "AppId": self.app_id,
                "BranchName": self.branch,
                "UploadMode": mode,
                "Sources": sources,
            },
        }
        spec = {
            "lambda_dir": str(ROOT / "lambda"),
            "event": event,
            "timeout_s": 900,
            "chunk": chunk,
        }
        env = {
            "AMPLIFY_DEPLOYMENT_TMP_DIR": str(tmp),
            "AMPLIFY_DEPLOYMENT_UPLOAD_WORKERS": str(workers),
            "AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT": "900",
        }
        measured = self._child("runner.py", spec, env, tmp)
        response = self.rx.response_for(url)
        self.rx.forget(url)
        if response is None or response.status != "SUCCESS":
            raise RuntimeError(
                f"handler did not succeed on {workload}: {response}\n{measured['stderr_tail']}"
            )
        measured["response_data"] = response.data
        impl = "handler" if workers == WORKERS else f"handler_w{workers}"
        impl += f"+chunk{chunk >> 10}k" if chunk else ""
        return self._record(workload, impl, meta, measured)

    def baseline_zip(self, workload: str, meta: dict, key: str) -> dict:
        spec = {
            "kind": "zip_stream",
            "app_id": self.app_id,
            "branch": self.branch,
            "bucket": BUCKET,
            "key": key,
        }
        return self._record(workload, "baseline", meta, self._child("baseline.py", spec, {}, None))

    def baseline_files(
        self, workload: str, meta: dict, key: str, limit: int = 0, workers: int = WORKERS
    ) -> dict:
        spec = {
            "kind": "files_put",
            "app_id": self.app_id,
            "branch": self.branch,
            "zip_path": str(self.local[key]),
            "workers": workers,
            "limit": limit,
        }
        impl = "baseline" if workers == WORKERS else f"baseline_w{workers}"
        return self._record(workload, impl, meta, self._child("baseline.py", spec, {}, None))

    def reference(self, workload: str, meta: dict, mode: str, sources: list[dict]) -> dict:
        tmp = self.work / "reference-tmp"
        tmp.mkdir(exist_ok=True)
        spec = {
            "mode": mode,
            "sources": sources,
            "app_id": self.app_id,
            "branch": self.branch,
            "tmp_dir": str(tmp),
            "workers": WORKERS,
        }
        return self._record(workload, "reference", meta, self._child("reference.py", spec, {}, tmp))


def source(key: str, markers: dict | None = None, json_escape: bool = False) -> dict:
    s: dict[str, Any] = {"BucketName": BUCKET, "ObjectKey": key}
    if markers:
        s["Markers"] = markers
        if json_escape:
            s["MarkersConfig"] = {"JsonEscape": "true"}
    return s


def cold_start(repeats: int) -> dict:
    lam = str(ROOT / "lambda")
    code_boto = "import time; t=time.perf_counter(); import boto3; print(time.perf_counter()-t)"
    code_handler = (
        f"import sys, time; sys.path.insert(0, {lam!r}); t=time.perf_counter(); import boto3; "
        "import amplify_deployment_handler.index; print(time.perf_counter()-t)"
    )
    code_first = (
        f"import sys, time; sys.path.insert(0, {lam!r}); import boto3, "
        f"amplify_deployment_handler.index as i; "
        "t=time.perf_counter(); import crhelper; i._get_helper(); print(time.perf_counter()-t)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"})
    times: dict[str, list[float]] = {"boto3": [], "boto3+handler": [], "first_invocation_setup": []}
    for _ in range(repeats):  # interleaved, so drift hits both alike
        for name, code in (
            ("boto3", code_boto),
            ("boto3+handler", code_handler),
            ("first_invocation_setup", code_first),
        ):
            out = subprocess.run([PY, "-I", "-c", code], capture_output=True, text=True, env=env, check=True)
            times[name].append(float(out.stdout.strip()))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "repeats": repeats,
        "median_s": med,
        "handler_import_extra_ms": round((med["boto3+handler"] - med["boto3"]) * 1000, 1),
        "samples_s": times,
    }


def asset_size(work: Path) -> dict:
    """The Lambda code asset as the construct bundles it (constructs/amplify_deployment/bundling.py:
    the two packages' .py files and py.typed), zipped with deflate level 9 (as CDK zips assets)."""
    out = work / "asset"
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'constructs')!r}); sys.path.insert(1, "
        f"{str(ROOT / 'lambda')!r});"
        f"from amplify_deployment.bundling import bundle_into; bundle_into({str(out)!r})"
    )
    how = "constructs/amplify_deployment/bundling.py bundle_into()"
    try:
        subprocess.run([PY, "-c", code], check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError):
        how = "copy of bundling.py's rule (bundle_into not importable)"
        import crhelper  # noqa: F401

        for name, src in (
            ("amplify_deployment_handler", ROOT / "lambda" / "amplify_deployment_handler"),
            ("crhelper", Path(sys.modules["crhelper"].__file__).parent),
        ):
            for p in sorted(src.rglob("*")):
                if (
                    p.is_file()
                    and "__pycache__" not in p.parts
                    and (p.suffix == ".py" or p.name == "py.typed")
                ):
                    t = out / name / p.relative_to(src)
                    t.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(p, t)
    zpath = work / "asset.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for p in sorted(out.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(out).as_posix())
    return {
        "zipped_bytes": zpath.stat().st_size,
        "unzipped_bytes": dir_size(out),
        "files": sum(1 for p in out.rglob("*") if p.is_file()),
        "how": how,
    }


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    import boto3
    import moto

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / (1 << 30), 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a ~1 min smoke test, small sizes")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated prefixes of the workloads to run "
        "(e.g. zip-1024,files-5000,cold); for investigations, implies --no-report",
    )
    ap.add_argument("--no-report", action="store_true", help="do not rewrite bench/README.md and docs/bench/")
    ap.add_argument("--work-dir", default=None, help="where sites and temp folders go (default: /var/tmp)")
    args = ap.parse_args(argv)
    only = [p for p in args.only.split(",") if p]
    if only or args.quick:  # investigations and smoke tests never replace the recorded run
        args.no_report = True

    def want(name: str) -> bool:
        return not only or any(name.startswith(p) for p in only)

    if args.quick:
        zip_sizes, big_sizes, repeats_at = [10, 30], [], 30
        file_counts, main_files, serial_files, multi_size = [100, 1000], 1000, 100, 30
    else:
        zip_sizes, big_sizes, repeats_at = [10, 100, 300, 1024], [100, 1024], 100
        file_counts, main_files, serial_files, multi_size = [100, 1000, 5000, 20000], 5000, 500, 1024
    # the common approach is run where a target compares with it, and on the cheap scaling points
    reference_files = {n for n in file_counts if n <= main_files}

    started = time.time()
    stamp = dt.datetime.now(dt.UTC)
    from amplify_sandbox import AmplifyEmulator
    from amplify_sandbox.driver.receiver import ResponseReceiver

    work = Path(tempfile.mkdtemp(prefix="amplify-bench-", dir=args.work_dir or "/var/tmp"))
    results: dict[str, Any] = {
        "date": stamp.isoformat(timespec="seconds"),
        "command": "bash bench/run" + (" --quick" if args.quick else ""),
        "machine": machine(),
    }
    b: Bench | None = None
    try:
        with AmplifyEmulator() as emulator, s3patch.S3Process() as s3, ResponseReceiver(work / "tls") as rx:
            assert rx.ca_file is not None
            b = Bench(Servers(emulator, s3), rx, work, rx.ca_file)
            print(f"servers up; work dir {work}", flush=True)

            if want("cold"):
                print("cold start and asset size", flush=True)
                results["cold_start"] = cold_start(3 if args.quick else 5)
                results["asset"] = asset_size(work)
                print(
                    f"  import extra {results['cold_start']['handler_import_extra_ms']} ms, "
                    f"asset {results['asset']['zipped_bytes']} bytes zipped",
                    flush=True,
                )

            # 1 + 6: ZIP mode, one source, by size (the stream at `repeats_at` is short: 3 runs, median)
            b.knobs(0.0)
            for mib in zip_sizes:
                key = f"site-{mib}mib.zip"
                wl = f"zip-{mib}mib"
                if want(wl):
                    path = work / key
                    t = time.perf_counter()
                    n = data.big_site_zip(str(path), mib * MiB, seed=mib)
                    b.put_object(key, path)
                    print(
                        f"ZIP {mib} MiB ({n} files, {b.sizes[key]} bytes; made in "
                        f"{time.perf_counter() - t:.1f} s)",
                        flush=True,
                    )
                    meta = {
                        "mode": "ZIP",
                        "size_bytes": b.sizes[key],
                        "site_mib": mib,
                        "files": n,
                        "sources": 1,
                    }
                    for i in range(3 if mib == repeats_at else 1):
                        m = dict(meta, repeat=i)
                        b.baseline_zip(wl, m, key)
                        b.handler(wl, m, "ZIP", [source(key)])
                        if mib == repeats_at:  # what-if: 1 MiB pieces instead of 256 KiB
                            b.handler(wl, m, "ZIP", [source(key)], chunk=1 << 20)
                    b.reference(wl, meta, "ZIP", [source(key)])
                    if mib != multi_size or not want("multi"):
                        b.drop_object(key)

            # 3 (+5): several sources with deploy-time markers; ZIP mode (merged zip), FILES mode
            if want("multi"):
                big_key = f"site-{multi_size}mib.zip"
                if big_key not in b.local:
                    path = work / big_key
                    data.big_site_zip(str(path), multi_size * MiB, seed=multi_size)
                    b.put_object(big_key, path)
                markers = data.markers_zips(str(work / "config.zip"), str(work / "app.zip"))
                b.put_object("config.zip", work / "config.zip")
                b.put_object("app.zip", work / "app.zip")
                srcs = [
                    source(big_key),
                    source("app.zip", markers["app"]),
                    source("config.zip", markers["config"], True),
                ]
                total = sum(b.sizes[k] for k in (big_key, "app.zip", "config.zip"))
                print(f"several sources: {total} bytes in 3 sources", flush=True)
                for mode in ("ZIP", "FILES"):
                    meta = {"mode": mode, "size_bytes": total, "site_mib": multi_size, "sources": 3}
                    b.handler(f"multi-{mode.lower()}-{multi_size}mib", meta, mode, srcs)
                    if mode == "ZIP":
                        b.reference(f"multi-{mode.lower()}-{multi_size}mib", meta, mode, srcs)
                b.drop_object(big_key)

            # 2 + 6: FILES mode, small files, 20 ms per upload request
            b.knobs(LATENCY)
            for n in file_counts:
                wl = f"files-{n}"
                if not want(wl):
                    continue
                key = f"files-{n}.zip"
                path = work / key
                first_path = work / f"files-{n}-first{serial_files}.zip" if n == main_files else None
                data.small_files_zip(
                    str(path),
                    n,
                    seed=n,
                    first_path=str(first_path) if first_path else None,
                    first=serial_files,
                )
                b.put_object(key, path)
                print(
                    f"FILES {n} files ({b.sizes[key]} bytes zipped), latency {LATENCY * 1000:.0f} ms",
                    flush=True,
                )
                meta = {"mode": "FILES", "size_bytes": b.sizes[key], "files": n, "latency_ms": LATENCY * 1000}
                b.baseline_files(wl, meta, key)
                b.handler(wl, meta, "FILES", [source(key)])
                if n in reference_files:
                    b.reference(wl, meta, "FILES", [source(key)])
                if n == main_files:  # the same at another concurrency (the default's choice)
                    b.baseline_files(wl, meta, key, workers=ALT_WORKERS)
                    b.handler(wl, meta, "FILES", [source(key)], workers=ALT_WORKERS)
                if first_path is not None:
                    fkey = first_path.name
                    b.put_object(fkey, first_path)
                    meta1 = {
                        "mode": "FILES",
                        "size_bytes": b.sizes[fkey],
                        "files": serial_files,
                        "latency_ms": LATENCY * 1000,
                    }
                    b.handler(f"files-{serial_files}-serial", meta1, "FILES", [source(fkey)], workers=1)
                    b.baseline_files(f"files-{serial_files}-serial", meta1, fkey, workers=1)
                    b.drop_object(fkey)
                b.drop_object(key)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    assert b is not None
    results["runs"] = b.results
    results["elapsed_s"] = round(time.time() - started, 1)
    results["params"] = {
        "zip_sizes_mib": zip_sizes,
        "file_counts": file_counts,
        "main_files": main_files,
        "serial_files": serial_files,
        "multi_mib": multi_size,
        "latency_ms": LATENCY * 1000,
        "workers": WORKERS,
        "alt_workers": ALT_WORKERS,
        "big_sizes_mib": big_sizes,
        "repeats_at_mib": repeats_at,
    }
    results["targets"] = report.evaluate(results)
    out_dir = BENCH / "results"
    out_dir.mkdir(exist_ok=True)
    name = (
        stamp.strftime("%Y-%m-%dT%H%M%SZ") + ("-quick" if args.quick else "") + ("-partial" if only else "")
    )
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: bench/results/{name}.json ({results['elapsed_s']} s)", flush=True)
    for t in results["targets"]:
        print(f"  [{'ok' if t['ok'] else 'MISS'}] {t['target']}: {t['value']} (limit {t['limit']})")
    if not args.no_report:
        report.write(results, f"bench/results/{name}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
