"""One run written up: the results block of bench/README.md (the targets bench/targets.py checked, the
findings, every run) and the PNG plots (matplotlib is needed only here: `pip install -r
bench/requirements.txt`; without it the plots are skipped)."""

from __future__ import annotations

import re
from pathlib import Path

from bench.targets import fmt_size, pull_job_s, pull_own_s, run_of, stage_s

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"
PLOTS = ("size-scaling.png", "files-scaling.png")


def findings(results: dict) -> list[str]:
    """Measured facts that explain the targets (not targets themselves)."""
    p = results["params"]
    n, ns = p["main_files"], p["serial_files"]
    out = []
    b, b1 = run_of(results, f"files-{n}", "baseline"), run_of(results, f"files-{ns}-serial", "baseline_w1")
    if b and b1:
        out.append(
            f"The raw PUT client itself reaches {(n / b['wall_s']) / (ns / b1['wall_s']):.1f}x with "
            f"{p['workers']} threads over one ({n / b['wall_s']:.0f} vs {ns / b1['wall_s']:.1f} files/s): "
            f"the ideal is the thread count ({p['latency_ms']:.0f} ms per upload); the emulator's per-upload "
            f"service time on the machine's {_machine(results, 'cores')} cores, which the client, the S3 "
            "server and the emulator share, takes the rest, whatever the client."
        )
    w2 = p.get("alt_workers")
    s = run_of(results, f"files-{ns}-serial", "handler_w1")
    for w, impl, bimpl in (
        (p["workers"], "handler", "baseline"),
        (w2, f"handler_w{w2}", f"baseline_w{w2}"),
    ):
        h, bb = run_of(results, f"files-{n}", impl), run_of(results, f"files-{n}", bimpl)
        if h and bb and s and b1:
            out.append(
                f"files-{n} with {w} workers: handler {h['wall_s']:.2f} s, raw client {bb['wall_s']:.2f} s "
                f"({h['wall_s'] / bb['wall_s']:.2f}x); files/s vs one at a time: handler "
                f"{(n / h['wall_s']) / (ns / s['wall_s']):.1f}x, raw client "
                f"{(n / bb['wall_s']) / (ns / b1['wall_s']):.1f}x; S3 GETs {h['s3_get_requests']}; CPU "
                f"handler / S3 server / emulator {h['cpu_s']:.1f} / {h['s3_server_cpu_s']:.1f} / "
                f"{h['emulator_cpu_s']:.1f} s; peak RSS {h['peak_rss_mib']:.0f} MiB."
            )
    for mib in p.get("pull_sizes_mib", []):
        h = run_of(results, f"pull-{mib}mib", "handler", pull_own_s)
        if h:
            hwm = h["child"].get("phase_hwm_mib", {})
            out.append(
                f"pull-{mib}mib: the handler's own time {pull_own_s(h):.2f} s of {h['wall_s']:.2f} s "
                f"(StartDeployment..SUCCEED {pull_job_s(h):.2f} s, the emulator fetching the zip inside "
                f"StartDeployment); it read {h['s3_get_bytes']} B from S3 ({h.get('s3_head_requests', 0)} "
                f"HEAD), Amplify fetched {fmt_size(h.get('s3_presigned_get_bytes', 0))} in "
                f"{h.get('s3_presigned_get_requests', 0)} GET(s); peak RSS {h['peak_rss_mib']:.0f} MiB"
                + (f" ({hwm.get('starting', 0):.0f} MiB when it called StartDeployment)" if hwm else "")
                + "."
            )
    m = p.get("repeats_at_mib")
    h = run_of(results, f"zip-{m}mib", "handler", stage_s)
    hc = run_of(results, f"zip-{m}mib", "handler+chunk1024k", stage_s)
    b = run_of(results, f"zip-{m}mib", "baseline", lambda r: r["child"]["stream_s"])
    if h and hc and b:
        out.append(
            f"zip-{m}mib: the S3->URL stream takes {stage_s(h):.3f} s in 256 KiB pieces (today) and "
            f"{stage_s(hc):.3f} s in 1 MiB pieces (what-if: s3io.CHUNK and upload.CHUNK_SEND set at run "
            f"time; no longer run, the handler has no setting for it), raw stream "
            f"{b['child']['stream_s']:.3f} s (medians); peak RSS {h['peak_rss_mib']:.0f} vs "
            f"{hc['peak_rss_mib']:.0f} MiB."
        )
    return out


def _machine(results: dict, key: str) -> str:
    """A recorded fact about the machine, or "not recorded" (older results files lack some)."""
    value = results.get("machine", {}).get(key)
    if value is None or value == "":
        return "not recorded"
    if isinstance(value, list):
        return " / ".join(f"{v:.2f}" for v in value)
    return str(value)


def machine_line(results: dict) -> str:
    """The machine as the results file records it (bench/machine.py)."""

    def m(key: str) -> str:
        return _machine(results, key)

    return (
        f"Run of {results['date']}: `{results['command']}` on {m('cores')} cores ({m('cpu')}), "
        f"{m('memory_gib')} GiB, Linux {m('kernel')}, Python {m('python')}, boto3 {m('boto3')}, "
        f"moto {m('moto')}; the whole command took {results['elapsed_s'] / 60:.1f} min. "
        f"Cores usable by the run: {m('usable_cores')}; load average (1 / 5 / 15 min) at the start: "
        f"{m('load_average_start')}, at the end: {m('load_average_end')}."
    )


def summary(results: dict) -> list[str]:
    """The run in one paragraph: how many targets are met, and which are not."""
    targets = results["targets"]
    missed = [t for t in targets if not t["ok"]]
    met = len(targets) - len(missed)
    if not missed:
        return [f"**{met} of {len(targets)} targets met.**"]
    return [f"**{met} of {len(targets)} targets met; missed:**", ""] + [
        f"- {t['target']}: {t['value']} (limit {t['limit']})" for t in missed
    ]


def table(results: dict) -> str:
    lines = [
        machine_line(results),
        "",
        *summary(results),
        "",
        "### Targets",
        "",
        "| target | measured | limit | met | detail |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in results["targets"]:
        lines.append(
            f"| {t['target']} | {t['value']} | {t['limit']} | {'yes' if t['ok'] else '**NO**'} | "
            f"{t['note']} |"
        )
    facts = findings(results)
    if facts:
        lines += ["", "### Findings", ""] + [f"- {f}" for f in facts]
    lines += [
        "",
        "### Every run",
        "",
        "handler = this project's Lambda handler; baseline = the raw minimal client; reference = the common "
        "approach (download, extract, upload); handler_w1 = the handler with one upload worker.",
        "",
        "| workload | impl | site | files | wall | peak RSS | read from S3 (GETs) | written to disk "
        "| peak temp dir "
        "| CPU: process / S3 server / emulator |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['workload']} | {r['impl']} | {fmt_size(r['size_bytes'])} | {r.get('files', '')} | "
            f"{r['wall_s']:.2f} s | {r['peak_rss_mib']:.0f} MiB | {fmt_size(r['s3_get_bytes'])} "
            f"({r['s3_get_requests']}) | {fmt_size(r['disk_write_bytes'])} | "
            f"{fmt_size(r['disk_peak_bytes'])} | "
            f"{r['cpu_s']:.1f} / {r['s3_server_cpu_s']:.1f} / {r['emulator_cpu_s']:.1f} s |"
        )
    cs = results.get("cold_start")
    if cs:
        med = cs["median_s"]
        lines += [
            "",
            f"Cold start (medians of {cs['repeats']} fresh interpreters): `import boto3` "
            f"{med['boto3'] * 1000:.0f} ms; `import boto3` + the handler module "
            f"{med['boto3+handler'] * 1000:.0f} ms; "
            f"first invocation's setup (import crhelper + CfnResource, 3 boto3 clients) "
            f"{med['first_invocation_setup'] * 1000:.0f} ms. Asset: {results['asset']['files']} files, "
            f"{fmt_size(results['asset']['unzipped_bytes'])} unzipped, "
            f"{fmt_size(results['asset']['zipped_bytes'])} zipped ({results['asset']['how']}).",
        ]
    return "\n".join(lines)


def plots(results: dict) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: plots skipped (pip install -r bench/requirements.txt)")
        return []
    out_dir = ROOT / "docs" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    p = results["params"]
    styles = {"handler": "o-", "baseline": "s--", "reference": "^:"}
    for name, xs, wl, xlabel, title in (
        (
            PLOTS[0],
            p["zip_sizes_mib"],
            "zip-{}mib",
            "site size (MiB), ZIP mode, one source",
            "ZIP mode: time and peak memory vs site size",
        ),
        (
            PLOTS[1],
            p["file_counts"],
            "files-{}",
            f"files, FILES mode, {p['latency_ms']:.0f} ms per upload",
            "FILES mode: time and peak memory vs file count",
        ),
    ):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for impl, style in styles.items():
            pts = [(x, run_of(results, wl.format(x), impl)) for x in xs]
            pts = [(x, r) for x, r in pts if r]
            if not pts:
                continue
            ax1.plot([x for x, _ in pts], [r["wall_s"] for _, r in pts], style, label=impl)
            ax2.plot([x for x, _ in pts], [r["peak_rss_mib"] for _, r in pts], style, label=impl)
        for ax, ylabel in ((ax1, "wall time (s)"), (ax2, "peak RSS of the process (MiB)")):
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
        ax1.set_yscale("log")
        fig.suptitle(f"{title} ({results['date'][:10]}, {_machine(results, 'cores')} cores)")
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=90)
        plt.close(fig)
        made.append(f"docs/bench/{name}")
    return made


def write(results: dict, json_path: str, draw: bool = True) -> None:
    """The results block of bench/README.md (and, when `draw`, the plots) from one results file.
    Without `draw` the plots already in docs/bench/ are linked as they are."""
    drawn = [f"docs/bench/{n}" for n in PLOTS if (ROOT / "docs" / "bench" / n).exists()]
    made = plots(results) if draw else drawn
    readme = ROOT / "bench" / "README.md"
    body = table(results) + f"\n\nRaw results: [{json_path}]({json_path.removeprefix('bench/')})."
    if made:
        body += (
            " Plots: "
            + ", ".join(f"[{m}](../{m})" for m in made)
            + "\n\n"
            + "\n".join(f"![{Path(m).stem}](../{m})" for m in made)
        )
    block = f"{START}\n{body}\n{END}"
    if readme.exists() and START in readme.read_text():
        text = re.sub(
            re.escape(START) + r".*?" + re.escape(END), lambda _: block, readme.read_text(), flags=re.S
        )
    else:
        text = "# Benchmarks\n\n" + block + "\n"
    readme.write_text(text)
    print("wrote bench/README.md" + (", " + ", ".join(made) if made and draw else ""))
