"""Runs one workload's implementations as child processes against the servers, and measures each.

`Bench` holds the servers (the Amplify emulator in this process, moto S3 in its own), the local
HTTPS ResponseURL receiver, the sites in S3 and the rows measured so far. For each child: wall time
(measured inside it), peak RSS (VmHWM, read by the child), bytes read from S3 (GetObject body bytes
counted inside moto), bytes written to disk (the child's own /proc/self/io write_bytes) and the
peak size of its temp folder (sampled every 50 ms), CPU of the child, of S3 and of this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from amplify_deployment_handler.rules import DEFAULT_FUNCTION_TIMEOUT_S
from amplify_sandbox import lambda_env
from bench.workloads import Data, Run, Workload

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
BUCKET = "bench-assets"
MiB = 1 << 20
JOB_DURATION_S = 0.2  # the emulator's deployment jobs


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


def server_env(emulator: Any, s3: Any) -> dict[str, str]:
    """What every child needs to reach the two servers (fake credentials)."""
    return {
        "AWS_ENDPOINT_URL_AMPLIFY": emulator.endpoint,
        "AWS_ENDPOINT_URL_S3": s3.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": lambda_env.REGION,
        "AWS_REGION": lambda_env.REGION,
    }


class Bench:
    def __init__(self, emulator: Any, s3: Any, rx: Any, work: Path) -> None:
        import boto3
        from botocore.config import Config

        self.emulator, self.s3_server, self.rx, self.work = emulator, s3, rx, work
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AMPLIFY_DEPLOYMENT_"))}
        self.env.update(server_env(emulator, s3))
        self.env.update({"SSL_CERT_FILE": str(rx.ca_file), "PYTHONDONTWRITEBYTECODE": "1"})
        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # fake credentials for the local servers
            aws_session_token="testing",
            region_name=lambda_env.REGION,
        )
        config = Config(s3={"addressing_style": "path"}, read_timeout=300)
        self.s3 = session.client("s3", endpoint_url=s3.endpoint, config=config)
        self.amplify = session.client("amplify", endpoint_url=emulator.endpoint, config=config)
        self.app_id = self.amplify.create_app(name="bench")["app"]["appId"]
        self.branch = ""
        self.runs = 0
        self.s3.create_bucket(Bucket=BUCKET)
        self.local: dict[str, tuple[Path, int]] = {}  # key -> (local copy, file count)
        self.results: list[dict[str, Any]] = []

    # -- the sites in S3 ---------------------------------------------------------------------------
    def site(self, site: Data) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Generates and uploads the parts not in S3 yet; returns the Sources and the site's meta."""
        sources = []
        for part in site.parts:
            if part.key not in self.local:
                path = self.work / part.key
                files = part.make(str(path))
                with open(path, "rb") as f:
                    self.s3.put_object(Bucket=BUCKET, Key=part.key, Body=f)
                self.local[part.key] = (path, files)
            source: dict[str, Any] = {"BucketName": BUCKET, "ObjectKey": part.key}
            if part.markers:
                source["Markers"] = dict(part.markers)
                if part.json_escape:
                    source["MarkersConfig"] = {"JsonEscape": "true"}
            sources.append(source)
        meta: dict[str, Any] = {
            "size_bytes": sum(self.local[p.key][0].stat().st_size for p in site.parts),
            **site.meta,
        }
        if len(site.parts) == 1:
            meta["files"] = self.local[site.parts[0].key][1]
        meta["sources"] = len(site.parts)
        return sources, meta

    def drop(self, key: str) -> None:
        self.s3.delete_object(Bucket=BUCKET, Key=key)
        path, _ = self.local.pop(key)
        path.unlink(missing_ok=True)

    # -- the workloads ----------------------------------------------------------------------------
    def run_all(self, workloads: tuple[Workload, ...]) -> None:
        """Each workload in turn; a zip leaves S3 (and the disk) after the last workload using it."""
        for i, w in enumerate(workloads):
            self.run_workload(w)
            later = {p.key for v in workloads[i + 1 :] for p in v.data.parts}
            for key in [k for k in self.local if k not in later]:
                self.drop(key)

    def run_workload(self, w: Workload) -> None:
        self.emulator.set_knobs(latency=w.latency_ms / 1000, job_duration=JOB_DURATION_S)
        sources, meta = self.site(w.data)
        meta = {"mode": w.mode, **meta}
        if w.latency_ms:
            meta["latency_ms"] = w.latency_ms
        print(f"{w.name}: {w.mode}, {meta['size_bytes']} bytes in {len(sources)} source(s)", flush=True)
        for i in range(w.repeats if w.repeated else 0):
            for run in w.repeated:
                self.run(w, run, sources, dict(meta, repeat=i) if w.repeats > 1 else meta)
        for run in w.runs:
            self.run(w, run, sources, meta)

    def fresh_branch(self) -> None:
        """A new branch for the next run, the last one deleted (outside any timing). The emulator
        removes a branch's previous deployment inside the GetJob that sees the next job finish: on
        one shared branch each run would pay for deleting the files of the run before it (20,000
        files: seconds on a loaded machine), so the order of the runs decided who paid."""
        if self.branch:
            self.amplify.delete_branch(appId=self.app_id, branchName=self.branch)
        self.runs += 1
        self.branch = f"run-{self.runs}"
        self.amplify.create_branch(appId=self.app_id, branchName=self.branch)

    def run(self, w: Workload, run: Run, sources: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        self.fresh_branch()
        if run.impl == "handler":
            measured = self.handler(w, run, sources)
        elif run.impl == "reference":
            tmp = self.work / "reference-tmp"
            tmp.mkdir(exist_ok=True)
            spec = {"mode": w.mode, "sources": sources, "tmp_dir": str(tmp), "workers": run.threads}
            measured = self.child("reference.py", self._app(spec), {}, tmp)
        elif w.mode == "ZIP":
            spec = {"kind": "zip_stream", "bucket": BUCKET, "key": sources[0]["ObjectKey"]}
            measured = self.child("baseline.py", self._app(spec), {}, None)
        else:
            path, _ = self.local[sources[0]["ObjectKey"]]
            spec = {"kind": "files_put", "zip_path": str(path), "workers": run.threads}
            measured = self.child("baseline.py", self._app(spec), {}, None)
        self._record(w.name, run.name, meta, measured)

    def _app(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {"app_id": self.app_id, "branch": self.branch, **spec}

    def handler(self, w: Workload, run: Run, sources: list[dict[str, Any]]) -> dict[str, Any]:
        """The handler, invoked with a CloudFormation Create event; counts only if it answered SUCCESS."""
        tmp = self.work / "handler-tmp"
        tmp.mkdir(exist_ok=True)
        stack_id, request_id = lambda_env.stack_id("bench"), str(uuid.uuid4())
        url = self.rx.new_url(stack_id, "Site", request_id)
        event = lambda_env.custom_resource_event(
            "Create",
            {"AppId": self.app_id, "BranchName": self.branch, "UploadMode": w.mode, "Sources": sources},
            response_url=url,
            stack_id=stack_id,
            logical_id="Site",
            service_token=lambda_env.function_arn("bench"),
            request_id=request_id,
        )
        context = lambda_env.LambdaContext.for_seconds(
            DEFAULT_FUNCTION_TIMEOUT_S, function_name="bench-amplify-deployment", memory_limit_in_mb=1024
        )
        spec = {"lambda_env": lambda_env.PATH, "event": event, "context": context.to_dict()}
        # The handler is imported from lambda/ (PYTHONPATH), as the code asset holds it; its settings
        # come from the environment variables users set on the function.
        env = {"PYTHONPATH": str(ROOT / "lambda"), "AMPLIFY_DEPLOYMENT_TMP_DIR": str(tmp)}
        if run.workers is not None:
            env["AMPLIFY_DEPLOYMENT_UPLOAD_WORKERS"] = str(run.workers)
        measured = self.child("runner.py", spec, env, tmp)
        response = self.rx.response_for(url)
        self.rx.forget(url)
        if response is None or response.status != "SUCCESS":
            raise RuntimeError(f"handler did not succeed on {w.name}: {response}\n{measured['stderr_tail']}")
        measured["response_data"] = response.data
        return measured

    # -- a child process ---------------------------------------------------------------------------
    def child(self, script: str, spec: dict, env_extra: dict[str, str], sample: Path | None) -> dict:
        env = dict(self.env, **env_extra)
        os.sync()  # so that writeback of earlier runs' (and the data's) dirty pages does not land on this one
        self.s3_server.reset_counters()
        emu_before = self.emulator.counters
        cpu_before = (proc_cpu(self.s3_server.pid), proc_cpu(os.getpid()))
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

        streams = (("out", proc.stdout), ("err", proc.stderr))
        readers = [threading.Thread(target=read, args=stream) for stream in streams]
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
        s3c = self.s3_server.snapshot()
        cpu_after = (proc_cpu(self.s3_server.pid), proc_cpu(os.getpid()))
        emu = self.emulator.counters
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
            # GETs of a presigned URL: Amplify fetching a PULL-mode sourceUrl, not this child
            "s3_presigned_get_bytes": s3c["presigned_get_bytes"],
            "s3_presigned_get_requests": s3c["presigned_get_requests"],
            "disk_write_bytes": child["proc_io"]["write_bytes"],
            "disk_peak_bytes": peak["disk"],
            "upload_bytes": emu["bytes_received"] - emu_before["bytes_received"],
            "child": {k: v for k, v in child.items() if k not in ("proc_io", "vm_hwm_kib")},
            "stderr_tail": err[-600:] if "WARNING" in err or "ERROR" in err else "",
        }

    def _record(self, workload: str, impl: str, meta: dict, measured: dict) -> None:
        row = {"workload": workload, "impl": impl, **meta, **measured}
        self.results.append(row)
        print(
            f"  {workload:<28} {impl:<15} {row['wall_s']:8.2f} s  {row['peak_rss_mib']:7.1f} MiB  "
            f"S3 {row['s3_get_bytes'] / MiB:9.1f} MiB  disk {row['disk_write_bytes'] / MiB:8.1f} MiB  "
            f"cpu {row['cpu_s']:.1f}/{row['s3_server_cpu_s']:.1f}/{row['emulator_cpu_s']:.1f} s",
            flush=True,
        )
