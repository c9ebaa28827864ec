"""Targets of issues 6 and 14 checked against one run, the README table, and the PNG plots
(matplotlib is needed only here: `pip install -r bench/requirements.txt`; without it the plots are
skipped)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MiB = 1 << 20
START, END = "<!-- results:start -->", "<!-- results:end -->"
PLOTS = ("size-scaling.png", "files-scaling.png")


def _stage(r: dict) -> float:
    """A handler run's upload stage (CreateDeployment answered -> last upload done), seconds."""
    ph = r["child"].get("phases", {})
    return ph.get("uploaded", 0) - ph.get("created", 0)


def _pull_job(r: dict) -> float:
    """A PULL run's job time: StartDeployment sent (`"action":"starting"`) -> the job seen SUCCEED.
    It holds Amplify's fetch of the zip (the emulator fetches it inside StartDeployment) and its job."""
    ph = r["child"].get("phases", {})
    return ph.get("succeeded", 0) - ph.get("starting", 0)


def _pull_own(r: dict) -> float:
    """A PULL run's handler time without Amplify's own: wall time minus `_pull_job`."""
    return r["wall_s"] - _pull_job(r)


def _label(mib: int) -> str:
    return f"{mib} MiB" if mib < 1024 else f"{mib // 1024} GiB"


def _run(results: dict, workload: str, impl: str, key: Any = None) -> dict | None:
    """The run of `impl` on `workload`; when it was repeated, the one with the median `key`
    (default: wall time)."""
    runs = [r for r in results["runs"] if r["workload"] == workload and r["impl"] == impl]
    if not runs:
        return None
    runs.sort(key=key or (lambda r: r["wall_s"]))
    return runs[(len(runs) - 1) // 2]


def _t(target: str, value: Any, limit: str, ok: bool, note: str = "") -> dict:
    return {"target": target, "value": value, "limit": limit, "ok": bool(ok), "note": note}


def evaluate(results: dict) -> list[dict]:
    p = results["params"]
    out: list[dict] = []
    # 1. ZIP mode, one source
    for mib in p["big_sizes_mib"] or p["zip_sizes_mib"][-1:]:
        h = _run(results, f"zip-{mib}mib", "handler", _stage)
        b = _run(results, f"zip-{mib}mib", "baseline", lambda r: r["child"]["stream_s"])
        if not h or not b:
            continue
        n_runs = sum(
            1 for r in results["runs"] if r["workload"] == f"zip-{mib}mib" and r["impl"] == "handler"
        )
        label = f"{mib} MiB" if mib < 1024 else f"{mib // 1024} GiB"
        up = _stage(h)
        ratio = b["child"]["stream_s"] / up if up > 0 else 0.0
        e2e = b["child"]["total_s"] / h["wall_s"]
        out.append(
            _t(
                f"1. ZIP {label}: throughput vs raw stream",
                f"{ratio:.0%}",
                ">= 80%",
                ratio >= 0.8,
                f"S3->URL stream: handler {up:.2f} s ({h['size_bytes'] / MiB / up:.0f} MiB/s), raw "
                f"{b['child']['stream_s']:.2f} s; end to end (create..job SUCCEED): handler "
                f"{h['wall_s']:.2f} s, raw {b['child']['total_s']:.2f} s ({e2e:.0%})"
                + (f"; medians of {n_runs} runs each" if n_runs > 1 else ""),
            )
        )
        s3r = h["s3_get_bytes"] / h["size_bytes"]
        out.append(
            _t(
                f"1. ZIP {label}: bytes read from S3 / asset",
                f"{s3r:.5f}",
                "<= 1.01",
                s3r <= 1.01,
                f"{h['s3_get_bytes']} bytes in {h['s3_get_requests']} GETs",
            )
        )
        opened = h["child"].get("opened_for_writing", [])
        out.append(
            _t(
                f"1. ZIP {label}: bytes written to disk",
                f"{h['disk_write_bytes']} B, {len(opened)} files",
                "0",
                not opened and h["disk_peak_bytes"] == 0 and h["disk_write_bytes"] <= 4096,
                "files opened for writing (audit hook): "
                + (", ".join(opened) or "none")
                + (
                    "; the page in write_bytes is kernel inode metadata (atime, relatime), not data: "
                    "see README"
                    if 0 < h["disk_write_bytes"] <= 4096
                    else ""
                ),
            )
        )
    hs = [_run(results, f"zip-{m}mib", "handler") for m in p["big_sizes_mib"]]
    if len(hs) == 2 and all(hs):
        small, big = hs
        out.append(
            _t(
                "1. ZIP 1 GiB: peak RSS",
                f"{big['peak_rss_mib']:.1f} MiB",
                "<= 100 MiB",
                big["peak_rss_mib"] <= 100,
            )
        )
        flat = big["peak_rss_mib"] / small["peak_rss_mib"]
        out.append(
            _t(
                "1. ZIP peak RSS 1 GiB / 100 MiB",
                f"{flat:.3f}",
                "<= 1.15",
                flat <= 1.15,
                f"{small['peak_rss_mib']:.1f} -> {big['peak_rss_mib']:.1f} MiB",
            )
        )
    # 2. FILES mode
    n, ns = p["main_files"], p["serial_files"]
    h, b = _run(results, f"files-{n}", "handler"), _run(results, f"files-{n}", "baseline")
    s = _run(results, f"files-{ns}-serial", "handler_w1")
    if h and b:
        ratio = h["wall_s"] / b["wall_s"]
        out.append(
            _t(
                f"2. FILES {n} files @{p['latency_ms']:.0f} ms: wall / raw PUT client",
                f"{ratio:.2f}x",
                "<= 1.5x",
                ratio <= 1.5,
                f"handler {h['wall_s']:.2f} s, raw client {b['wall_s']:.2f} s "
                f"(its PUTs alone {b['child'].get('puts_s', 0):.2f} s)",
            )
        )
        out.append(
            _t(
                f"2. FILES {n} files: peak RSS",
                f"{h['peak_rss_mib']:.1f} MiB",
                "<= 150 MiB",
                h["peak_rss_mib"] <= 150,
            )
        )
    if h and s:
        speed = (n / h["wall_s"]) / (ns / s["wall_s"])
        out.append(
            _t(
                f"2. FILES: files/s, {p['workers']} workers vs one at a time ({ns} files)",
                f"{speed:.1f}x",
                ">= 15x",
                speed >= 15,
                f"{n / h['wall_s']:.0f} vs {ns / s['wall_s']:.1f} files/s",
            )
        )
    # 3. several sources with markers
    for mode in ("zip", "files"):
        h = _run(results, f"multi-{mode}-{p['multi_mib']}mib", "handler")
        if not h:
            continue
        site = int(h["response_data"].get("ByteCount", 0))
        disk = max(h["disk_write_bytes"], h["disk_peak_bytes"])
        out.append(
            _t(
                f"3. several sources + markers, {mode.upper()}: peak RSS",
                f"{h['peak_rss_mib']:.1f} MiB",
                "<= 150 MiB",
                h["peak_rss_mib"] <= 150,
            )
        )
        out.append(
            _t(
                f"3. several sources + markers, {mode.upper()}: disk / site size",
                f"{disk / site:.4f}",
                "<= 1 (documented)",
                disk <= site,
                f"{disk} bytes written (peak in temp dir {h['disk_peak_bytes']}), site {site} bytes",
            )
        )
    out += _issue14(results)
    # 4. cold start
    cs, asset = results.get("cold_start"), results.get("asset")
    if cs:
        out.append(
            _t(
                "4. import handler: extra over `import boto3`",
                f"{cs['handler_import_extra_ms']} ms",
                "<= 100 ms",
                cs["handler_import_extra_ms"] <= 100,
                f"medians of {cs['repeats']}: boto3 {cs['median_s']['boto3'] * 1000:.0f} ms",
            )
        )
    if asset:
        out.append(
            _t(
                "4. Lambda code asset, zipped",
                f"{asset['zipped_bytes'] / 1024:.1f} KiB",
                "<= 200 KiB",
                asset["zipped_bytes"] <= 200 * 1024,
            )
        )
    return out


def _issue14(results: dict) -> list[dict]:
    """Targets of issue 14: PULL mode (5) and FILES mode past the keep budget (6)."""
    p = results["params"]
    out: list[dict] = []
    sizes = p.get("pull_sizes_mib", [])
    pulls = {m: _run(results, f"pull-{m}mib", "handler", _pull_own) for m in sizes}
    for mib, h in pulls.items():
        if h:
            out.append(
                _t(
                    f"5. PULL {_label(mib)}: bytes the handler read from S3",
                    f"{h['s3_get_bytes']} B",
                    "0",
                    h["s3_get_bytes"] == 0,
                    f"{h['s3_get_requests']} GETs, {h.get('s3_head_requests', 0)} HEAD; Amplify fetched "
                    f"{_fmt_size(h.get('s3_presigned_get_bytes', 0))} by the presigned URL",
                )
            )
    small, big = (pulls.get(sizes[0]), pulls.get(sizes[-1])) if len(sizes) > 1 else (None, None)
    if small and big:
        ratio = _pull_own(big) / _pull_own(small)
        n = sum(1 for r in results["runs"] if r["workload"] == f"pull-{sizes[-1]}mib")
        out.append(
            _t(
                f"5. PULL: handler time {_label(sizes[-1])} / {_label(sizes[0])} (job excluded)",
                f"{ratio:.2f}x",
                "<= 1.1x",
                ratio <= 1.1,
                f"{_pull_own(big):.2f} s vs {_pull_own(small):.2f} s (wall {big['wall_s']:.2f} / "
                f"{small['wall_s']:.2f} s, minus StartDeployment..SUCCEED {_pull_job(big):.2f} / "
                f"{_pull_job(small):.2f} s)" + (f"; medians of {n} runs each" if n > 1 else ""),
            )
        )
    for n, limit in ((p.get("big_files"), 1.5), (p.get("main_files"), 1.2)):
        h, b = _run(results, f"files-{n}", "handler"), _run(results, f"files-{n}", "baseline")
        if not (h and b):
            continue
        ratio = h["wall_s"] / b["wall_s"]
        out.append(
            _t(
                f"6. FILES {n} files: wall / raw PUT client",
                f"{ratio:.2f}x",
                f"<= {limit}x",
                ratio <= limit,
                f"handler {h['wall_s']:.2f} s, raw client {b['wall_s']:.2f} s; "
                f"{h['s3_get_requests']} GETs, {_fmt_size(h['s3_get_bytes'])} read",
            )
        )
        if n == p.get("big_files"):
            out.append(
                _t(
                    f"6. FILES {n} files: peak RSS",
                    f"{h['peak_rss_mib']:.1f} MiB",
                    "<= 150 MiB",
                    h["peak_rss_mib"] <= 150,
                    f"raw client {b['peak_rss_mib']:.1f} MiB",
                )
            )
    return out


def findings(results: dict) -> list[str]:
    """Measured facts that explain the targets (not targets themselves)."""
    p = results["params"]
    n, ns = p["main_files"], p["serial_files"]
    out = []
    b, b1 = _run(results, f"files-{n}", "baseline"), _run(results, f"files-{ns}-serial", "baseline_w1")
    if b and b1:
        out.append(
            f"The raw PUT client itself reaches {(n / b['wall_s']) / (ns / b1['wall_s']):.1f}x with "
            f"{p['workers']} threads over one ({n / b['wall_s']:.0f} vs {ns / b1['wall_s']:.1f} files/s): "
            f"the ideal is the thread count ({p['latency_ms']:.0f} ms per upload); the emulator's per-upload "
            f"service time on the machine's {_machine(results, 'cores')} cores, which the client, the S3 "
            "server and the emulator share, takes the rest, whatever the client."
        )
    w2 = p.get("alt_workers")
    s = _run(results, f"files-{ns}-serial", "handler_w1")
    for w, impl, bimpl in (
        (p["workers"], "handler", "baseline"),
        (w2, f"handler_w{w2}", f"baseline_w{w2}"),
    ):
        h, bb = _run(results, f"files-{n}", impl), _run(results, f"files-{n}", bimpl)
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
        h = _run(results, f"pull-{mib}mib", "handler", _pull_own)
        if h:
            hwm = h["child"].get("phase_hwm_mib", {})
            out.append(
                f"pull-{mib}mib: the handler's own time {_pull_own(h):.2f} s of {h['wall_s']:.2f} s "
                f"(StartDeployment..SUCCEED {_pull_job(h):.2f} s, the emulator fetching the zip inside "
                f"StartDeployment); it read {h['s3_get_bytes']} B from S3 ({h.get('s3_head_requests', 0)} "
                f"HEAD), Amplify fetched {_fmt_size(h.get('s3_presigned_get_bytes', 0))} in "
                f"{h.get('s3_presigned_get_requests', 0)} GET(s); peak RSS {h['peak_rss_mib']:.0f} MiB"
                + (f" ({hwm.get('starting', 0):.0f} MiB when it called StartDeployment)" if hwm else "")
                + "."
            )
    m = p.get("repeats_at_mib")
    h = _run(results, f"zip-{m}mib", "handler", _stage)
    hc = _run(results, f"zip-{m}mib", "handler+chunk1024k", _stage)
    b = _run(results, f"zip-{m}mib", "baseline", lambda r: r["child"]["stream_s"])
    if h and hc and b:
        out.append(
            f"zip-{m}mib: the S3->URL stream takes {_stage(h):.3f} s in 256 KiB pieces (today) and "
            f"{_stage(hc):.3f} s in 1 MiB pieces (what-if: s3io.CHUNK and upload.CHUNK_SEND set at run "
            f"time; no longer run, the handler has no setting for it), raw stream "
            f"{b['child']['stream_s']:.3f} s (medians); peak RSS {h['peak_rss_mib']:.0f} vs "
            f"{hc['peak_rss_mib']:.0f} MiB."
        )
    return out


def _fmt_size(n: float) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{int(n)} B"


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
            f"| {r['workload']} | {r['impl']} | {_fmt_size(r['size_bytes'])} | {r.get('files', '')} | "
            f"{r['wall_s']:.2f} s | {r['peak_rss_mib']:.0f} MiB | {_fmt_size(r['s3_get_bytes'])} "
            f"({r['s3_get_requests']}) | {_fmt_size(r['disk_write_bytes'])} | "
            f"{_fmt_size(r['disk_peak_bytes'])} | "
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
            f"{_fmt_size(results['asset']['unzipped_bytes'])} unzipped, "
            f"{_fmt_size(results['asset']['zipped_bytes'])} zipped ({results['asset']['how']}).",
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
            pts = [(x, _run(results, wl.format(x), impl)) for x in xs]
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
