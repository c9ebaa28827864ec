"""One soak run: the sandbox, the handler as Lambda runs it, the faults, and the invariants.

A :class:`World` holds the Amplify emulator and moto S3 (``amplify_sandbox.Sandbox``), a proxy in front
of each (bench/soak/proxy.py), the local HTTPS ResponseURL receiver, and one app with two branches.
:meth:`World.deploy` runs one :class:`~bench.soak.scenario.Step`: it publishes the step's source zips
to moto, arms the step's faults, invokes the handler in its own process through the driver's local
Lambda runtime (isolated interpreter with boto3 only, Lambda's environment, killed at its timeout or
over its memory), disarms everything, and checks the invariants (:data:`INVARIANTS`).
"""

from __future__ import annotations

import dataclasses
import http.client
import importlib.util
import io
import json
import os
import random
import re
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amplify_sandbox import Knobs, Sandbox
from amplify_sandbox.driver import lambda_runner
from amplify_sandbox.driver.receiver import ResponseReceiver
from amplify_sandbox.lambda_env import custom_resource_event, function_arn, stack_id

from .proxy import Proxy
from .scenario import PATHS, Step, content

REPO = Path(__file__).resolve().parents[2]
HANDLER_DIR = REPO / "lambda" / "amplify_deployment_handler"
BUCKET = "soak-assets"
STACK_ID = stack_id("soak", unique="50a50a50-0000-4000-8000-000000000000")
ARN = function_arn("soak-deployment")
#: the function's MemorySize: the smallest the construct allows; the runtime kills the process above it
MEMORY_SIZE_MB = 128
#: the bound on the handler process's peak RSS (VmHWM) per invocation, MiB
MEMORY_BOUND_MIB = 100
REASON_MAX = 256
#: what a presigned URL (upload URL, sourceUrl, ResponseURL) leaves in text that shows it
SECRET_MARKS = (
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Amz-Date=",
    "/_upload/",
    "cloudformation-custom-resource-response",
)
FINISHED = ("SUCCEED", "FAILED", "CANCELLED")
KNOB_DEFAULTS = Knobs().to_dict()
#: the "next N" knobs: how many were armed minus how many are left = how many fired
COUNTED_KNOBS = {
    "upload_500": "fail_next_uploads",
    "upload_drop": "drop_next_uploads",
    "upload_stall": "stall_next_uploads",
    "api_throttle": "throttle_next_api_calls",
    "api_stall": "stall_next_api_calls",
    "lost_create_deployment": "lose_next_create_deployment",
    "lost_start_deployment": "lose_next_start_deployment",
    "lost_stop_job": "lose_next_stop_job",
    "lost_get_job": "lose_next_get_job",
    "job_failed": "fail_next_jobs",
}

INVARIANTS = {
    "answered": "the handler answered SUCCESS or FAILED, exactly once, before its deadline (not killed)",
    "reason": "the reason is one line of at most 256 characters that names our job when one was made",
    "content": "SUCCESS: the branch serves exactly the new site, byte for byte; FAILED: exactly the previous",
    "no_leftovers": "no job of ours is unfinished once the handler has answered, and no deployment is "
    "blocked by an earlier one's job",
    "no_secrets": "no upload URL, presigned URL or ResponseURL in any log line or in the response",
    "memory": f"the handler process's peak RSS stays within {MEMORY_BOUND_MIB} MiB",
}

ENTRY = '''"""The soak's Lambda entry point: the handler, then its process's peak RSS (VmHWM) on one line."""

from amplify_deployment_handler import index


def handler(event, context):
    try:
        return index.handler(event, context)
    finally:
        with open("/proc/self/status") as status:
            hwm = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
        print("SOAK_VMHWM_KIB", hwm, flush=True)
'''


@dataclass
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


@dataclass
class Outcome:
    """What one deployment did."""

    step: int
    status: str  # SUCCESS, FAILED, or NO_ANSWER
    reason: str
    seconds: float
    peak_rss_mib: float
    #: fault kind -> times it fired (0: armed, never met by a request)
    faults: dict[str, int]
    violations: list[Violation] = field(default_factory=list)
    our_jobs: list[str] = field(default_factory=list)
    #: the function's output lines, kept only when an invariant was broken
    lines: list[str] = field(default_factory=list)


@dataclass
class BranchState:
    live: dict[str, bytes] | None = None  # what the branch serves (None: nothing deployed yet)
    props: dict[str, Any] | None = None  # the resource's properties once created
    physical_id: str | None = None


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def site_bytes(step: Step) -> dict[str, bytes]:
    return {p: content(p, size, seed) for p, (size, seed) in step.site.items()}


def source_zips(step: Step, files: dict[str, bytes]) -> list[bytes]:
    """The step's source zips: one, or two whose merge (the second wins) is the site."""
    if not step.split:
        return [_zip(files)]
    rng = random.Random(json.dumps(step.site, sort_keys=True))
    paths = sorted(files)
    first = set(rng.sample(paths, rng.randint(1, len(paths) - 1)))
    decoys = {
        p: b"overridden by the second source " + p.encode()
        for p in paths
        if p not in first and rng.random() < 0.5
    }
    one = {p: files[p] for p in paths if p in first} | decoys
    two = {p: files[p] for p in paths if p not in first}
    return [_zip(one), _zip(two)]


class World:
    def __init__(self, workdir: Path, log: Callable[[str], None] = lambda line: None) -> None:
        self.workdir = workdir
        self.log = log
        self.sb = Sandbox().start()
        try:
            self.receiver = ResponseReceiver(workdir / "tls")
            self.receiver.start()
            self.api = Proxy(self.sb.amplify_endpoint)
            self.s3p = Proxy(self.sb.s3_endpoint)
            self.amplify = self.sb.client("amplify")
            self.s3 = self.sb.client("s3")
            self.app_id = self.amplify.create_app(name="soak")["app"]["appId"]
            self.holder_app = self.amplify.create_app(name="quota-holder")["app"]["appId"]
            self.amplify.create_branch(appId=self.holder_app, branchName="main")
            self.s3.create_bucket(Bucket=BUCKET)
            self.code = self._code_dir(workdir / "code")
            self.deps = lambda_runner.runtime_dir(workdir / "runtime")
            self.branches: dict[str, BranchState] = {}
            self.step_no = 0
            self._proxy_armed: set[str] = set()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for name in ("api", "s3p", "receiver"):
            part = getattr(self, name, None)
            if part is not None:
                part.close() if name != "receiver" else part.stop()
        self.sb.stop()

    @staticmethod
    def _code_dir(code: Path) -> Path:
        """The function's code folder as the construct lays out its asset: the handler package and
        crhelper, plus the soak's entry module."""
        shutil.copytree(HANDLER_DIR, code / HANDLER_DIR.name, ignore=shutil.ignore_patterns("__pycache__"))
        spec = importlib.util.find_spec("crhelper")
        assert spec is not None and spec.origin is not None
        shutil.copytree(
            Path(spec.origin).parent, code / "crhelper", ignore=shutil.ignore_patterns("__pycache__")
        )
        (code / "soak_entry.py").write_text(ENTRY)
        return code

    # -- helpers -----------------------------------------------------------------------------------
    def _state(self, branch: str) -> BranchState:
        if branch not in self.branches:
            self.amplify.create_branch(appId=self.app_id, branchName=branch)
            self.branches[branch] = BranchState()
        return self.branches[branch]

    def _jobs(self, app_id: str, branch: str) -> list[dict[str, Any]]:
        return list(self.amplify.list_jobs(appId=app_id, branchName=branch, maxResults=50)["jobSummaries"])

    def _put(self, data: bytes) -> str:
        key = f"assets/{uuid.uuid4().hex}.zip"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return key

    def _client_job(
        self, app_id: str, branch: str, files: dict[str, bytes], start: bool, duration: float
    ) -> str:
        """Another client's deployment on a branch (the console, another stack): created, uploaded and,
        with ``start``, started to run ``duration`` seconds."""
        created = self.amplify.create_deployment(appId=app_id, branchName=branch)
        req = urllib.request.Request(created["zipUploadUrl"], data=_zip(files), method="PUT")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        if start:
            self.sb.emulator.set_knobs(job_duration=duration)
            self.amplify.start_deployment(appId=app_id, branchName=branch, jobId=created["jobId"])
            self.sb.emulator.set_knobs(job_duration=KNOB_DEFAULTS["job_duration"])
        return str(created["jobId"])

    def _stop_unfinished(self, app_id: str, branch: str) -> None:
        for job in self._jobs(app_id, branch):
            if job["status"] not in FINISHED:
                try:
                    self.amplify.stop_job(appId=app_id, branchName=branch, jobId=job["jobId"])
                except self.amplify.exceptions.BadRequestException:
                    pass

    def fetch(self, branch: str, path: str) -> tuple[int, bytes]:
        base = urllib.parse.urlsplit(self.sb.emulator.site_url(self.app_id, branch))
        conn = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=30)
        try:
            conn.request("GET", "/" + urllib.parse.quote(path))
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    # -- one deployment ----------------------------------------------------------------------------
    def deploy(self, step: Step) -> Outcome:
        self.step_no += 1
        state = self._state(step.branch)
        files = site_bytes(step)
        keys = [self._put(z) for z in source_zips(step, files)]
        props = {
            "AppId": self.app_id,
            "BranchName": step.branch,
            "UploadMode": step.mode,
            "Sources": [{"BucketName": BUCKET, "ObjectKey": k} for k in keys],
        }
        before = max([int(j["jobId"]) for j in self._jobs(self.app_id, step.branch)] + [0])
        others, fired = self._arm(step, state)
        request_id = str(uuid.uuid4())
        url = self.receiver.new_url(STACK_ID, "SiteDeployment", request_id)
        update = state.props is not None
        event = custom_resource_event(
            "Update" if update else "Create",
            props,
            response_url=url,
            stack_id=STACK_ID,
            logical_id="SiteDeployment",
            service_token=ARN,
            request_id=request_id,
            physical_id=state.physical_id if update else None,
            old_properties=state.props if update else None,
        )
        lines: list[str] = []
        started = time.monotonic()
        inv = self._invoke(step, event, lines)
        seconds = time.monotonic() - started
        fired.update(self._disarm(step))
        answers = self.receiver.answers(url)
        self.receiver.forget(url)
        outcome = self._check(step, state, files, props, before, others, inv, answers, lines, url)
        outcome.seconds = round(seconds, 2)
        outcome.faults = fired
        # the other client ends its deployments; ours are stopped only after a violation was recorded
        self._stop_unfinished(self.holder_app, "main")
        self._stop_unfinished(self.app_id, step.branch)
        if outcome.status == "SUCCESS":
            state.live, state.props, state.physical_id = files, props, answers[0].get("PhysicalResourceId")
        if outcome.violations:  # go on from what the branch really serves, so one violation is counted once
            state.live = self._served(step.branch, state.live, files)
        return outcome

    def _served(self, branch: str, *known: dict[str, bytes] | None) -> dict[str, bytes] | None:
        served = {}
        for path in PATHS:
            code, body = self.fetch(branch, path)
            if code == 200:
                served[path] = body
        return served or None

    def _arm(self, step: Step, state: BranchState) -> tuple[set[str], dict[str, int]]:
        """Set up the other clients' jobs, then arm the knobs and the proxies' rules. Returns the ids
        of the other client's jobs on the branch and the faults set up outside the knobs' counters."""
        f = step.faults
        others: set[str] = set()
        fired: dict[str, int] = {}
        self.sb.emulator.set_knobs(**KNOB_DEFAULTS)
        self.api.clear()
        self.s3p.clear()
        for quota in ("quota_refused", "quota_queued"):
            if quota in f:
                self._client_job(
                    self.holder_app, "main", {"index.html": b"holder"}, True, f[quota]["held_for"]
                )
                fired[quota] = 1
        if "other_job_running" in f and state.live is not None:
            others.add(
                self._client_job(
                    self.app_id, step.branch, state.live, True, f["other_job_running"]["seconds"]
                )
            )
            fired["other_job_running"] = 1
        elif "other_job_unstarted" in f:
            others.add(self._client_job(self.app_id, step.branch, {"index.html": b"never started"}, False, 0))
            if f["other_job_unstarted"]["age"] == "old" and step.abandoned_after <= 2:
                time.sleep(step.abandoned_after + 0.3)
            fired["other_job_unstarted"] = 1
        knobs: dict[str, Any] = {}
        for kind, knob in COUNTED_KNOBS.items():
            if kind in f and kind not in ("api_throttle", "api_stall"):
                knobs[knob] = f[kind].get("n", 1)
        if "upload_stall" in f:
            knobs["stall_seconds"] = f["upload_stall"]["seconds"]
        for kind in ("lost_create_deployment", "lost_start_deployment", "lost_stop_job", "lost_get_job"):
            if kind in f:
                knobs["lost_answer_as"] = f[kind]["as"]
        if "upload_url_expired" in f:
            knobs["upload_url_expiry"] = 0
            fired["upload_url_expired"] = 1
        if "api_latency" in f:
            knobs["latency"] = f["api_latency"]["seconds"]
            fired["api_latency"] = 1
        if "job_slow" in f:
            knobs["job_duration"] = f["job_slow"]["seconds"]
            fired["job_slow"] = 1
        if "quota_refused" in f or "quota_queued" in f:
            knobs["max_concurrent_jobs"] = 1
            knobs["over_limit_start"] = "refused" if "quota_refused" in f else "queued"
        if "unstarted_created" in f:
            knobs["unstarted_status"] = "CREATED"
            fired["unstarted_created"] = 1
        if "start_time_at_creation" in f:
            knobs["job_start_time"] = "at_creation"
            fired["start_time_at_creation"] = 1
        self.sb.emulator.set_knobs(**knobs)
        self._proxy_armed = set()
        if "api_throttle" in f:
            t = f["api_throttle"]
            self._arm_at_call(
                "api_throttle", t["at_call"], throttle_code=t["code"], throttle_next_api_calls=t["n"]
            )
        if "api_stall" in f:
            s = f["api_stall"]
            self._arm_at_call(
                "api_stall", s["at_call"], stall_seconds=s["seconds"], stall_next_api_calls=s["n"]
            )
        if "s3_read_cut" in f:
            c = f["s3_read_cut"]
            self.s3p.cut(c["after"], f"/{BUCKET}/assets/", skip=c["skip"], times=c["times"])
        return others, fired

    def _arm_at_call(self, kind: str, n: int, **knobs: Any) -> None:
        """Arm ``knobs`` right before the handler's n-th Amplify call of this deployment."""

        def arm() -> None:
            self._proxy_armed.add(kind)
            self.sb.emulator.set_knobs(**knobs)

        self.api.at_call(n, arm)

    def _disarm(self, step: Step) -> dict[str, int]:
        """Every knob back to its default; returns how often each armed knob fault fired."""
        left = self.sb.emulator.knobs.to_dict()
        self.sb.emulator.set_knobs(**KNOB_DEFAULTS)
        cuts = self.s3p.cuts_done
        self.api.clear()
        self.s3p.clear()
        fired: dict[str, int] = {}
        for kind, knob in COUNTED_KNOBS.items():
            if kind in step.faults:
                armed = step.faults[kind].get("n", 1)
                if kind in ("api_throttle", "api_stall") and kind not in self._proxy_armed:
                    fired[kind] = 0  # the handler made fewer calls than the one it was armed before
                    continue
                fired[kind] = max(0, armed - int(left[knob]))
        if "s3_read_cut" in step.faults:
            fired["s3_read_cut"] = cuts
        return fired

    def _invoke(self, step: Step, event: dict[str, Any], lines: list[str]) -> lambda_runner.Invocation:
        fn = lambda_runner.LambdaFunction(
            logical_id="SiteDeployment",
            function_name="soak-deployment",
            arn=ARN,
            handler="soak_entry.handler",
            runtime="python3.14",
            code_dir=self.code,
            timeout=step.timeout,
            memory_size=MEMORY_SIZE_MB,
            environment={"AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT": str(step.abandoned_after)},
            max_retries=0,
        )
        sandbox_env = self.sb.env()
        sandbox_env["AWS_ENDPOINT_URL_AMPLIFY"] = self.api.endpoint
        sandbox_env["AWS_ENDPOINT_URL_S3"] = self.s3p.endpoint
        env = lambda_runner.lambda_environment(
            fn,
            region="us-east-1",
            sandbox_env=sandbox_env,
            ca_file=self.receiver.ca_file,
            log_group="/aws/lambda/soak-deployment",
            log_stream=uuid.uuid4().hex,
        )
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            env["TMPDIR"] = tmp
            return lambda_runner.invoke(fn, event, env=env, deps_dir=self.deps, on_line=lines.append)

    # -- the invariants ----------------------------------------------------------------------------
    def _check(
        self,
        step: Step,
        state: BranchState,
        files: dict[str, bytes],
        props: dict[str, Any],
        before: int,
        others: set[str],
        inv: lambda_runner.Invocation,
        answers: list[dict[str, Any]],
        lines: list[str],
        url: str,
    ) -> Outcome:
        v: list[Violation] = []
        peak = 0.0
        shown: list[str] = []
        for line in lines:
            m = re.match(r"SOAK_VMHWM_KIB (\d+)$", line)
            if m:
                peak = int(m.group(1)) / 1024
            else:
                shown.append(line)
        # answered: once, SUCCESS or FAILED, before the deadline
        if inv.timed_out or inv.out_of_memory:
            v.append(Violation("answered", f"the function was killed: {inv.error}"))
        if len(answers) != 1:
            v.append(Violation("answered", f"{len(answers)} answers instead of exactly one"))
        answer = answers[0] if answers else {}
        status = str(answer.get("Status", "NO_ANSWER"))
        reason = str(answer.get("Reason") or "")
        if answers and status not in ("SUCCESS", "FAILED"):
            v.append(Violation("answered", f"status {status!r}"))
        # our jobs: created on the branch during the invocation by anyone but the other client
        jobs = self._jobs(self.app_id, step.branch)
        ours = sorted(
            (j for j in jobs if int(j["jobId"]) > before and j["jobId"] not in others),
            key=lambda j: int(j["jobId"]),
        )
        our_ids = [j["jobId"] for j in ours]
        # reason
        if len(reason) > REASON_MAX or "\n" in reason:
            v.append(Violation("reason", f"{len(reason)} characters or several lines: {reason[:300]!r}"))
        if status == "FAILED" and our_ids and not re.search(rf"\bjob {our_ids[-1]}\b", reason):
            v.append(Violation("reason", f"our job {our_ids[-1]} is not named: {reason!r}"))
        if status == "FAILED" and "Execution timed out" in reason:
            v.append(Violation("answered", f"crhelper's timer answered, not the handler: {reason!r}"))
        if status == "SUCCESS":
            job_id = str(answer.get("Data", {}).get("JobId"))
            if not our_ids or job_id != our_ids[-1]:
                v.append(Violation("answered", f"SUCCESS with JobId {job_id}, our jobs {our_ids}"))
            if answer.get("PhysicalResourceId") != f"{self.app_id}/{step.branch}":
                v.append(Violation("answered", f"PhysicalResourceId {answer.get('PhysicalResourceId')!r}"))
        if status == "FAILED" and state.physical_id and answer.get("PhysicalResourceId") != state.physical_id:
            v.append(
                Violation(
                    "answered",
                    f"a failed Update changed the PhysicalResourceId to {answer.get('PhysicalResourceId')!r}",
                )
            )
        # no leftovers: every job of ours finished; a busy branch never ours from an earlier step
        unfinished = [f"{j['jobId']} {j['status']}" for j in ours if j["status"] not in FINISHED]
        if unfinished:
            v.append(Violation("no_leftovers", f"our jobs still unfinished after the answer: {unfinished}"))
        busy = re.search(r"is busy: job (\d+)", reason)
        if busy and busy.group(1) not in others:
            v.append(
                Violation("no_leftovers", f"blocked by job {busy.group(1)}, not another client's: {reason!r}")
            )
        # content: exactly the new site (SUCCESS) or exactly the previous one (FAILED)
        if status in ("SUCCESS", "FAILED"):
            expected = files if status == "SUCCESS" else (state.live or {})
            wrong = []
            for path in PATHS:
                code, body = self.fetch(step.branch, path)
                if path in expected and (code != 200 or body != expected[path]):
                    wrong.append(f"{path}: HTTP {code}, {len(body)} bytes, expected {len(expected[path])}")
                elif path not in expected and code == 200:
                    wrong.append(f"{path}: served ({len(body)} bytes), not in the {which(status)} site")
            if wrong:
                v.append(
                    Violation(
                        "content",
                        f"{status}, but the branch serves other than the {which(status)} site: {wrong[:3]}",
                    )
                )
        # no secrets in the output or the answer
        text = "\n".join(shown) + json.dumps(answers)
        marks = [m for m in SECRET_MARKS if m in text]
        if url in text or urllib.parse.urlsplit(url).query in text:
            marks.append("the ResponseURL")
        if marks:
            v.append(Violation("no_secrets", f"presigned URL parts in the output or the answer: {marks}"))
        # memory
        if peak > MEMORY_BOUND_MIB or inv.out_of_memory:
            v.append(
                Violation(
                    "memory",
                    f"peak RSS {peak:.1f} MiB (bound {MEMORY_BOUND_MIB} MiB), runtime: {inv.max_rss_mb} MB",
                )
            )
        elif peak == 0 and not inv.timed_out:
            v.append(Violation("memory", "the handler process did not report its peak RSS"))
        keep = v or os.environ.get("SOAK_LINES") == "1"
        return Outcome(
            self.step_no, status, reason, 0.0, round(peak, 1), {}, v, our_ids, shown if keep else []
        )


def which(status: str) -> str:
    return "new" if status == "SUCCESS" else "previous"


def outcome_json(o: Outcome) -> dict[str, Any]:
    d = dataclasses.asdict(o)
    d["violations"] = [str(x) for x in o.violations]
    return d
