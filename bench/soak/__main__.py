"""`python -m bench.soak` (or `scripts/soak`): deployments under random faults, checked after each.

Draws ``--count`` deployments from ``--seed`` (bench/soak/scenario.py), runs them against the sandbox
with the handler in its Lambda-like process (bench/soak/world.py), and checks the invariants after
every one. ``--lanes K`` runs K independent sandboxes at once (lane i draws from seed ``S/i``), each
in its own process. A violation prints the seed, the lane and the minimal sequence that reproduces it
(bench/soak/runner.py shrinks it), written to a JSON file that ``--replay`` runs again. The summary
(deployments, faults by kind, successes, clean failures, violations) is printed as JSON and as the
Markdown table docs/reliability.md records. Exit status 1 when an invariant was broken.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import runner, scenario
from .scenario import FAULT_KINDS
from .world import INVARIANTS, MEMORY_BOUND_MIB, Outcome, outcome_json


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000, help="deployments in all (default 1000)")
    ap.add_argument("--seed", default=None, help="the run's seed (default: the time)")
    ap.add_argument("--lanes", type=int, default=1, help="independent sandboxes run at once (default 1)")
    ap.add_argument("--out", default=None, help="write the summary JSON here")
    ap.add_argument("--replay", default=None, help="run the steps of a JSON file (a reproduction) again")
    ap.add_argument("--no-shrink", action="store_true", help="report violations without shrinking them")
    ap.add_argument("--shrink-budget", type=float, default=600.0, help="seconds of replays per shrink")
    ap.add_argument("--lane", type=int, default=None, help=argparse.SUPPRESS)  # a lane's worker process
    ap.add_argument("--quiet", action="store_true", help="no line per deployment")
    return ap.parse_args(argv)


def lane_seed(seed: str, lane: int) -> str:
    return f"{seed}/{lane}"


def lane_counts(count: int, lanes: int) -> list[int]:
    return [count // lanes + (1 if i < count % lanes else 0) for i in range(lanes)]


def run_lane(seed: str, lane: int, count: int, args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    """Run one lane in this process; its summary, with a reproduction per broken invariant."""
    sub = lane_seed(seed, lane)
    steps = scenario.draw(sub, count)

    def progress(i: int, step: scenario.Step, o: Outcome) -> None:
        if not args.quiet or o.violations:
            mark = "VIOLATION " + "; ".join(map(str, o.violations)) if o.violations else ""
            print(
                f"[{sub} {i + 1}/{count}] {o.status:<9} {o.seconds:5.1f}s {o.peak_rss_mib:5.1f}MiB "
                f"{step.describe()} | {o.reason[:120]} {mark}",
                flush=True,
            )

    result = runner.run(steps, progress=progress)
    return summarize(sub, steps, result, args, out_dir)


def summarize(
    seed: str, steps: list[scenario.Step], result: runner.RunResult, args: argparse.Namespace, out_dir: Path
) -> dict[str, Any]:
    outcomes = result.outcomes
    armed: collections.Counter[str] = collections.Counter()
    fired: collections.Counter[str] = collections.Counter()
    for o in outcomes:
        for kind, n in o.faults.items():
            armed[kind] += 1
            fired[kind] += 1 if n > 0 else 0
    reproductions = []
    seen: set[str] = set()
    for i, name, detail in result.violations:
        if name in seen:
            continue
        seen.add(name)
        print(f"VIOLATION of {name} at deployment {i + 1} of seed {seed!r}: {detail}", flush=True)
        minimal = steps[: i + 1]
        if not args.no_shrink:
            minimal = runner.shrink(steps, i, name, budget_s=args.shrink_budget)
        path = out_dir / f"soak-repro-{seed.replace('/', '-')}-{name}.json"
        path.write_text(scenario.dumps(minimal) + "\n")
        print(f"minimal sequence ({len(minimal)} deployments); replay: python -m bench.soak --replay {path}")
        for n, step in enumerate(minimal, 1):
            print(f"  {n}. {step.describe()}")
        reproductions.append(
            {"invariant": name, "at": i + 1, "detail": detail, "file": str(path), "steps": len(minimal)}
        )
    return {
        "seed": seed,
        "deployments": len(outcomes),
        "seconds": result.seconds,
        "successes": sum(o.status == "SUCCESS" for o in outcomes),
        "clean_failures": sum(o.status == "FAILED" and not o.violations for o in outcomes),
        "deployments_with_violations": sum(bool(o.violations) for o in outcomes),
        "violations": collections.Counter(name for _, name, _ in result.violations),
        "faults_armed": armed,
        "faults_fired": fired,
        "peak_rss_mib_max": max((o.peak_rss_mib for o in outcomes), default=0.0),
        "modes": collections.Counter(s.mode for s in steps[: len(outcomes)]),
        "ran_into_deadline": sum(
            any(m in o.reason for m in ("near the Lambda timeout", "deadline", "is busy")) for o in outcomes
        ),
        "reproductions": reproductions,
        "outcomes": [outcome_json(o) for o in outcomes],
    }


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"lanes": [p["seed"] for p in parts]}
    for key in (
        "deployments",
        "successes",
        "clean_failures",
        "deployments_with_violations",
        "ran_into_deadline",
    ):
        total[key] = sum(p[key] for p in parts)
    for key in ("violations", "faults_armed", "faults_fired", "modes"):
        c: collections.Counter[str] = collections.Counter()
        for p in parts:
            c.update(p[key])
        total[key] = dict(sorted(c.items()))
    total["peak_rss_mib_max"] = max((p["peak_rss_mib_max"] for p in parts), default=0.0)
    total["failure_reasons"] = failure_reasons(
        [o["reason"] for p in parts for o in p["outcomes"] if o["status"] == "FAILED"]
    )
    total["reproductions"] = [r for p in parts for r in p["reproductions"]]
    return total


def markdown(total: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Seed `{meta['seed']}`, {meta['lanes']} lane(s), command `{meta['command']}`, {meta['date']}, "
        f"{meta['elapsed_s']:.0f} s on {meta['machine']}.",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| deployments run | {total['deployments']} (ZIP {total['modes'].get('ZIP', 0)}, FILES "
        f"{total['modes'].get('FILES', 0)}, PULL {total['modes'].get('PULL', 0)}) |",
        f"| successes | {total['successes']} |",
        f"| clean failures (FAILED, every invariant held) | {total['clean_failures']} |",
        f"| deployments that ran into their deadline or a busy branch | {total['ran_into_deadline']} |",
        f"| invariant violations | {sum(total['violations'].values())} "
        f"({', '.join(f'{k}: {v}' for k, v in total['violations'].items()) or 'none'}) |",
        f"| peak RSS of the handler process, highest | {total['peak_rss_mib_max']:.1f} MiB "
        f"(bound {MEMORY_BOUND_MIB} MiB) |",
        "",
        "| fault | deployments armed | of which it fired |",
        "| --- | --- | --- |",
    ]
    for kind in FAULT_KINDS:
        lines.append(
            f"| `{kind}` | {total['faults_armed'].get(kind, 0)} | {total['faults_fired'].get(kind, 0)} |"
        )
    kinds = total.get("failure_reasons", {})
    if kinds:
        lines += ["", "| FAILED, the reason says | deployments |", "| --- | --- |"]
        lines += [f"| {name} | {n} |" for name, n in kinds.items()]
    return "\n".join(lines)


#: what a FAILED reason says, by its wording (the first that matches)
REASON_KINDS = (
    ("a busy branch (another client's job): `branch ... is busy: job N still ...`", r"is busy: job"),
    (
        "the job still running or queued at the deadline: `Amplify job N still ... near the Lambda timeout`",
        r"near the Lambda timeout",
    ),
    (
        "an Amplify call cut off at the deadline: `<call> on ...: no answer before the deadline` (or `the "
        "deadline has passed`)",
        r"no answer before the deadline|the deadline has passed",
    ),
    (
        "the quota: `<call> on ... refused (LimitExceededException) for N s ...`",
        r"LimitExceededException\) for",
    ),
    (
        "throttled until the deadline: `<call> kept failing with ... until the deadline`",
        r"until the deadline",
    ),
    ("an expired upload URL: `upload of <file> refused: its upload URL has expired ...`", r"URL has expired"),
    (
        "an upload that kept failing: `upload of <file> failed ...; job N stopped ...`",
        r"^upload of .* failed",
    ),
    ("lost answers, given up: `... lost its answer 3 times (...)`", r"lost its answer"),
    (
        "the job FAILED (the knob, or a PULL source cut as Amplify read it): `Amplify job N FAILED ...`",
        r"Amplify job \d+ FAILED",
    ),
    ("an S3 read cut every time: `cannot read ... resumes failed`", r"^cannot read"),
    ("a job that could not be stopped: `... job N could not be stopped ...`", r"could not be stopped"),
)


def failure_reasons(reasons: list[str]) -> dict[str, int]:
    """FAILED reasons counted by REASON_KINDS (and "other")."""
    counts: collections.Counter[str] = collections.Counter()
    for reason in reasons:
        name = next((n for n, pattern in REASON_KINDS if re.search(pattern, reason)), "other")
        counts[name] += 1
    return {n: counts[n] for n, _ in (*REASON_KINDS, ("other", "")) if counts[n]}


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return (
        f"{platform.machine()} Linux, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load:.1f} at the start"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    out_dir = Path(args.out).parent if args.out else Path.cwd()
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replay:
        steps = scenario.loads(Path(args.replay).read_text())

        def show(i: int, s: scenario.Step, o: Outcome) -> None:
            print(
                f"{i + 1}. {o.status} {o.seconds}s {s.describe()} | {o.reason} "
                + "; ".join(map(str, o.violations)),
                flush=True,
            )
            for line in o.lines:
                print("    " + line)

        result = runner.run(steps, progress=show)
        return 1 if result.violations else 0
    seed = args.seed or time.strftime("%Y%m%d%H%M%S")
    counts = lane_counts(args.count, max(1, args.lanes))
    if args.lane is not None:  # a worker: one lane, its summary as JSON on the last line
        part = run_lane(seed, args.lane, counts[args.lane], args, out_dir)
        Path(args.out).write_text(json.dumps(part, default=dict) + "\n")
        return 1 if part["deployments_with_violations"] else 0
    started = time.time()
    meta = {
        "seed": seed,
        "lanes": len(counts),
        "command": " ".join(["python -m bench.soak", *(sys.argv[1:] if argv is None else argv)]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
    }
    if len(counts) == 1:
        parts = [run_lane(seed, 0, counts[0], args, out_dir)]
    else:
        procs = []
        for lane in range(len(counts)):
            part_file = out_dir / f"soak-lane-{lane}.json"
            cmd = [
                sys.executable,
                "-m",
                "bench.soak",
                "--seed",
                seed,
                "--count",
                str(args.count),
                "--lanes",
                str(len(counts)),
                "--lane",
                str(lane),
                "--out",
                str(part_file),
            ]
            cmd += ["--quiet"] if args.quiet else []
            cmd += ["--no-shrink"] if args.no_shrink else []
            procs.append((subprocess.Popen(cmd), part_file))
        for proc, _ in procs:
            proc.wait()
        parts = [json.loads(f.read_text()) for _, f in procs]
    total = merge(parts)
    meta["elapsed_s"] = time.time() - started
    report = {"meta": meta, "total": total, "invariants": INVARIANTS, "lanes": parts}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1, default=dict) + "\n")
    print(json.dumps({k: v for k, v in total.items()}, indent=1, default=dict))
    print(markdown(total, meta))
    return 1 if total["deployments_with_violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
