"""`python -m bench` (or `bash bench/run`): every benchmark of issue 6 in one command.

Starts the sandbox (Amplify emulator + moto S3, moto patched by bench/s3patch.py) and a local HTTPS
ResponseURL receiver, then runs the workloads of bench/workloads.py in order (bench/harness.py runs
and measures each implementation as a child process). Writes bench/results/<date>.json and, for the
full run, the results block of bench/README.md and docs/bench/*.png (bench/report.py); bench/targets.py
checks the targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import machine, report, s3patch, startup, targets, workloads
from bench.harness import BENCH, Bench


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a ~1 min smoke test, small sizes")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated prefixes of the workloads to run (e.g. zip-10mib,files-100; `cold` "
        "for the cold start and asset size); for investigations, implies --no-report",
    )
    ap.add_argument("--list", action="store_true", help="list the workloads (with --quick: the quick ones)")
    ap.add_argument("--no-report", action="store_true", help="do not rewrite bench/README.md and docs/bench/")
    ap.add_argument(
        "--report-only",
        metavar="RESULTS_JSON",
        help="run nothing: rewrite bench/README.md's results block from a recorded results file "
        "(plots are linked, not redrawn)",
    )
    ap.add_argument("--work-dir", default=None, help="where sites and temp folders go (default: /var/tmp)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.report_only:
        report.write(json.loads(Path(args.report_only).read_text()), args.report_only, draw=False)
        return 0
    only = [p for p in args.only.split(",") if p]
    table = workloads.select(workloads.QUICK if args.quick else workloads.FULL, only)
    if args.list:
        for w in table:
            names = [r.name for r in w.repeated] + ([f"(x{w.repeats})"] if w.repeats > 1 else [])
            print(f"{w.name:<22} {w.mode:<5} {' '.join(names + [r.name for r in w.runs])}")
        return 0
    cold = not only or "cold".startswith(tuple(only))  # the cold start and asset size
    if not table and not cold:
        raise SystemExit(f"no workload starts with {args.only!r} (see --list)")

    stamp = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "date": stamp.isoformat(timespec="seconds"),
        "command": shlex.join(["bash", "bench/run", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine.describe(),
    }
    started = time.time()
    results.update(run(table, cold, args.quick, args.work_dir))
    results["machine"]["load_average_end"] = machine.load_average()
    results["elapsed_s"] = round(time.time() - started, 1)
    results["params"] = workloads.params(args.quick)
    results["targets"] = targets.evaluate(results)

    name = stamp.strftime("%Y-%m-%dT%H%M%SZ") + ("-quick" if args.quick else "")
    name += "-partial" if only else ""
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: bench/results/{name}.json ({results['elapsed_s']} s)", flush=True)
    for t in results["targets"]:
        print(f"  [{'ok' if t['ok'] else 'MISS'}] {t['target']}: {t['value']} (limit {t['limit']})")
    if not (args.no_report or args.quick or only):  # smoke tests and investigations never replace the record
        report.write(results, f"bench/results/{name}.json")
    return 0


def run(
    table: tuple[workloads.Workload, ...], cold: bool, quick: bool, work_dir: str | None
) -> dict[str, Any]:
    """The servers up, the cold start (when chosen), then every workload in order."""
    from amplify_sandbox import AmplifyEmulator
    from amplify_sandbox.driver.receiver import ResponseReceiver

    work = Path(tempfile.mkdtemp(prefix="amplify-bench-", dir=work_dir or "/var/tmp"))
    out: dict[str, Any] = {}
    try:
        with AmplifyEmulator() as emulator, s3patch.S3Process() as s3, ResponseReceiver(work / "tls") as rx:
            bench = Bench(emulator, s3, rx, work)
            print(f"servers up; work dir {work}", flush=True)
            if cold:
                out["cold_start"] = startup.cold_start(3 if quick else 5)
                out["asset"] = startup.asset_size(work)
                print(
                    f"cold start: import extra {out['cold_start']['handler_import_extra_ms']} ms, "
                    f"asset {out['asset']['zipped_bytes']} bytes zipped",
                    flush=True,
                )
            bench.run_all(table)
            out["runs"] = bench.results
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
