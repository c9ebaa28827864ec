"""`python -m bench.branches`: twenty branches, five concurrent-job slots (issue 19).

The stack of tests/reliability/apps/twenty_branches (one AmplifyStaticSite, 20 branches, ZIP and FILES)
is created through the local driver, as `amplify-sandbox deploy` does, with every deployment
provisioned at once (as CloudFormation would), against the emulator's `max_concurrent_jobs=5` and jobs
of a fixed `job_duration` T, under each value of `over_limit_start` (refused: LimitExceededException
until a slot frees; queued: accepted, PENDING until a slot frees).

Measured, per alternative:
- the stack's wall time (the driver's deploy, from a prebuilt cloud assembly: no synth) against the
  ideal schedule: ceil(20/5) x T plus one branch's own overhead (the same app with one branch,
  deployed alone: its wall time less T);
- from the emulator's own record of every job (created, started, given a slot, ended): for each job
  that had to wait for a slot, the time from that slot freeing to the job running in it. Refused:
  the handler's retry delay; queued: the emulator's (a queued job is admitted at the next API call).

Target: wall time at most 1.2x the ideal. Writes bench/results/branches-<date>.json and the
`branches` block of bench/README.md (not with --quick or --no-report).
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import math
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import machine

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
APP = REPO / "tests" / "reliability" / "apps" / "twenty_branches"
STACK = "TwentyBranches"
BRANCHES = 20
SLOTS = 5
TARGET = 1.2
ALTERNATIVES = ("refused", "queued")
START, END = "<!-- branches:start -->", "<!-- branches:end -->"


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.branches", description=__doc__.splitlines()[0])
    ap.add_argument("--job-seconds", type=float, default=30.0, help="T, every job's duration (default 30)")
    ap.add_argument("--quick", action="store_true", help="T = 5 s; writes a -quick results file only")
    ap.add_argument("--no-report", action="store_true", help="do not rewrite bench/README.md's block")
    ap.add_argument("--work-dir", default=None, help="where the apps and state go (default: /var/tmp)")
    return ap.parse_args(argv)


def synth(work: Path, names: list[str]) -> Path:
    from amplify_sandbox.driver import LocalStack, copy_app

    app = copy_app(APP, work / f"synth-{len(names)}")
    LocalStack(app, None, context={"branches": ",".join(names)}, log=lambda _line: None).synth()
    return app / "cdk.out"


def deploy(sb: Any, assembly: Path, folder: Path) -> tuple[float, Any, list[str]]:
    """Create the stack from a copy of the prebuilt assembly; (wall seconds, result, log lines)."""
    from amplify_sandbox.driver import LocalStack

    folder.mkdir(parents=True)
    shutil.copytree(assembly, folder / "cdk.out")
    (folder / "cdk.json").write_text(json.dumps({"app": "cdk.out"}))
    lines: list[str] = []
    started = time.monotonic()
    lines.append(f"# began {time.time()}")
    result = LocalStack(folder, sb, log=lines.append).deploy()
    wall = time.monotonic() - started
    lines.append(f"# ended {time.time()}")
    if not result.ok:
        raise SystemExit(
            f"deploy failed: {result.error or result.stacks[0].reason}\n" + "\n".join(lines[-40:])
        )
    failed = [r for r in result.requests if r.status != "SUCCESS"]
    if failed:
        raise SystemExit(f"{len(failed)} deployments failed: {failed[0].reason}")
    return wall, result, lines


def job_record(sb: Any, app_id: str) -> list[dict[str, float]]:
    """Every job of the app, from the emulator's own record: created, started, running, ended."""
    backend = sb.emulator.backend
    out = []
    with backend._lock:
        for branch in backend.apps[app_id].branches.values():
            for job in branch.jobs.values():
                assert job.run_time is not None and job.start_time is not None
                out.append(
                    {
                        "branch": branch.branch_name,
                        "created": job.create_time,
                        "started": job.start_time,
                        "running": job.run_time,
                        "ended": job.run_time + job.duration,
                    }
                )
    return out


def slot_gaps(jobs: list[dict[str, float]], slots: int) -> list[float]:
    """For each job that had to wait for a slot (every slot taken when it was ready: created), the time
    from the slot it got freeing to its running. Slots are given in order of running."""
    free = [-math.inf] * slots
    gaps = []
    for job in sorted(jobs, key=lambda j: j["running"]):
        freed = heapq.heappop(free)
        if freed > job["created"]:  # it was ready before this slot freed: it waited for it
            gaps.append(job["running"] - freed)
        heapq.heappush(free, job["ended"])
    return gaps


def run_alternative(
    sb: Any, work: Path, assemblies: dict[int, Path], over_limit: str, t: float
) -> dict[str, Any]:
    sb.reset()
    sb.emulator.set_knobs(max_concurrent_jobs=SLOTS, job_duration=t, over_limit_start=over_limit)
    one_wall, _, _ = deploy(sb, assemblies[1], work / f"{over_limit}-one")
    print(f"  {over_limit}: one branch {one_wall:.1f} s", flush=True)
    calls_before = dict(sb.emulator.counters["requests"])
    wall, result, lines = deploy(sb, assemblies[BRANCHES], work / f"{over_limit}-twenty")
    app_id = result.branches[0][0]
    jobs = job_record(sb, app_id)
    gaps = slot_gaps(jobs, SLOTS)
    calls = {k: v - calls_before.get(k, 0) for k, v in sb.emulator.counters["requests"].items()}
    overhead = one_wall - t
    ideal = math.ceil(BRANCHES / SLOTS) * t + overhead
    waits = [
        json.loads(m.group(0)) for line in lines if (m := re.search(r'\{"stage":"wait","call".*\}', line))
    ]
    accepted = [w for w in waits if w.get("action") == "accepted"]
    first_run = min(j["running"] for j in jobs)
    last_end = max(j["ended"] for j in jobs)
    began = float(lines[0].split()[-1])
    ended = float(lines[-1].split()[-1])
    row = {
        "over_limit_start": over_limit,
        "job_seconds": t,
        "jobs": len(jobs),
        "wall_s": round(wall, 2),
        "one_branch_wall_s": round(one_wall, 2),
        "one_branch_overhead_s": round(overhead, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(wall / ideal, 3),
        "jobs_span_s": round(last_end - first_run, 2),
        "jobs_span_ideal_s": math.ceil(BRANCHES / SLOTS) * t,
        "before_first_job_s": round(first_run - began, 2),
        "after_last_job_s": round(ended - last_end, 2),
        "waited_for_a_slot": len(gaps),
        "slot_gap_mean_s": round(statistics.mean(gaps), 2) if gaps else 0.0,
        "slot_gap_median_s": round(statistics.median(gaps), 2) if gaps else 0.0,
        "slot_gap_max_s": round(max(gaps), 2) if gaps else 0.0,
        "slot_gaps_s": [round(g, 2) for g in gaps],
        "start_deployment_calls": calls.get("StartDeployment", 0),
        "get_job_calls": calls.get("GetJob", 0),
        "api_calls": sum(calls.values()),
        "handlers_that_waited": len(accepted),
        "handler_wait_max_s": round(max((w["waited_s"] for w in accepted), default=0.0), 1),
    }
    print(
        f"  {over_limit}: twenty branches {wall:.1f} s, ideal {ideal:.1f} s ({row['ratio']:.2f}x); "
        f"slot gaps mean {row['slot_gap_mean_s']} s, max {row['slot_gap_max_s']} s over {len(gaps)} jobs",
        flush=True,
    )
    return row


def load(values: list[float]) -> str:
    return " / ".join(map(str, values))


def block(results: dict[str, Any], path: str) -> str:
    m = results["machine"]
    rows = results["runs"]
    met = all(r["ratio"] <= TARGET for r in rows)
    out = [
        f"Run of {results['date']}: `{results['command']}` on {m['usable_cores']} cores ({m['cpu']}), "
        f"Python {m.get('python', '?')}; load average at the start {load(m['load_average_start'])}, "
        f"at the end {load(m['load_average_end'])}; {results['elapsed_s']} s in all.",
        "",
        f"**Target (wall time at most {TARGET}x the ideal schedule): {'met' if met else 'MISSED'}.**",
        "",
        "| over_limit_start | T | wall | ideal (4 T + one branch's overhead) | wall / ideal "
        "| jobs' span (ideal 4 T) | jobs that waited for a slot "
        "| slot freed -> job running: mean / median / max | StartDeployment calls | API calls |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r['over_limit_start']} | {r['job_seconds']:g} s | {r['wall_s']:.1f} s "
            f"| {r['ideal_s']:.1f} s (overhead {r['one_branch_overhead_s']:.1f} s) | {r['ratio']:.2f}x "
            f"| {r['jobs_span_s']:.1f} s ({r['jobs_span_ideal_s']:g} s) | {r['waited_for_a_slot']} "
            f"| {r['slot_gap_mean_s']} / {r['slot_gap_median_s']} / {r['slot_gap_max_s']} s "
            f"| {r['start_deployment_calls']} | {r['api_calls']} |"
        )
    out += ["", f"Raw results: [{path}]({path.removeprefix('bench/')})."]
    return "\n".join(out)


def write_report(results: dict[str, Any], path: str) -> None:
    readme = BENCH / "README.md"
    text = readme.read_text()
    start, end = text.index(START) + len(START), text.index(END)
    readme.write_text(text[:start] + "\n" + block(results, path) + "\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    t = 5.0 if args.quick else args.job_seconds
    from amplify_sandbox import Sandbox

    stamp = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "date": stamp.isoformat(timespec="seconds"),
        "command": shlex.join(
            [".venv/bin/python", "-m", "bench.branches", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": machine.describe(),
        "branches": BRANCHES,
        "slots": SLOTS,
        "target": TARGET,
    }
    started = time.time()
    os.environ["AMPLIFY_SANDBOX_MAX_PARALLEL"] = str(BRANCHES)  # every deployment at once
    work = Path(tempfile.mkdtemp(prefix="amplify-bench-branches-", dir=args.work_dir or "/var/tmp"))
    try:
        names = [f"b{i:02d}" for i in range(1, BRANCHES + 1)]
        assemblies = {1: synth(work, names[:1]), BRANCHES: synth(work, names)}
        print(f"synthesized; T = {t:g} s", flush=True)
        with Sandbox() as sb:
            results["runs"] = [run_alternative(sb, work, assemblies, alt, t) for alt in ALTERNATIVES]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_average_end"] = machine.load_average()
    results["elapsed_s"] = round(time.time() - started, 1)
    name = "branches-" + stamp.strftime("%Y-%m-%dT%H%M%SZ") + ("-quick" if args.quick else "")
    (BENCH / "results").mkdir(exist_ok=True)
    path = f"bench/results/{name}.json"
    (REPO / path).write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {path}")
    for r in results["runs"]:
        ok = r["ratio"] <= TARGET
        print(
            f"  [{'ok' if ok else 'MISS'}] {r['over_limit_start']}: {r['ratio']:.2f}x the ideal "
            f"(limit {TARGET}x)"
        )
    if not (args.quick or args.no_report):
        write_report(results, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
