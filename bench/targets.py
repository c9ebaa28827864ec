"""The targets of issues 6 and 14 checked against one run (`evaluate`, stored in its results file as
`targets`), and the measures both the targets and bench/report.py read from a run."""

from __future__ import annotations

from typing import Any

MiB = 1 << 20


def stage_s(r: dict) -> float:
    """A handler run's upload stage (CreateDeployment answered -> last upload done), seconds."""
    ph = r["child"].get("phases", {})
    return ph.get("uploaded", 0) - ph.get("created", 0)


def pull_job_s(r: dict) -> float:
    """A PULL run's job time: StartDeployment sent (`"action":"starting"`) -> the job seen SUCCEED.
    It holds Amplify's fetch of the zip (the emulator fetches it inside StartDeployment) and its job."""
    ph = r["child"].get("phases", {})
    return ph.get("succeeded", 0) - ph.get("starting", 0)


def pull_own_s(r: dict) -> float:
    """A PULL run's handler time without Amplify's own: wall time minus `pull_job_s`."""
    return r["wall_s"] - pull_job_s(r)


def size_label(mib: int) -> str:
    return f"{mib} MiB" if mib < 1024 else f"{mib // 1024} GiB"


def run_of(results: dict, workload: str, impl: str, key: Any = None) -> dict | None:
    """The run of `impl` on `workload`; when it was repeated, the one with the median `key`
    (default: wall time)."""
    runs = [r for r in results["runs"] if r["workload"] == workload and r["impl"] == impl]
    if not runs:
        return None
    runs.sort(key=key or (lambda r: r["wall_s"]))
    return runs[(len(runs) - 1) // 2]


def fmt_size(n: float) -> str:
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{int(n)} B"


def _t(target: str, value: Any, limit: str, ok: bool, note: str = "") -> dict:
    return {"target": target, "value": value, "limit": limit, "ok": bool(ok), "note": note}


def evaluate(results: dict) -> list[dict]:
    p = results["params"]
    out: list[dict] = []
    # 1. ZIP mode, one source
    for mib in p["big_sizes_mib"] or p["zip_sizes_mib"][-1:]:
        h = run_of(results, f"zip-{mib}mib", "handler", stage_s)
        b = run_of(results, f"zip-{mib}mib", "baseline", lambda r: r["child"]["stream_s"])
        if not h or not b:
            continue
        n_runs = sum(
            1 for r in results["runs"] if r["workload"] == f"zip-{mib}mib" and r["impl"] == "handler"
        )
        label = size_label(mib)
        up = stage_s(h)
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
    hs = [run_of(results, f"zip-{m}mib", "handler") for m in p["big_sizes_mib"]]
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
    h, b = run_of(results, f"files-{n}", "handler"), run_of(results, f"files-{n}", "baseline")
    s = run_of(results, f"files-{ns}-serial", "handler_w1")
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
        h = run_of(results, f"multi-{mode}-{p['multi_mib']}mib", "handler")
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
    pulls = {m: run_of(results, f"pull-{m}mib", "handler", pull_own_s) for m in sizes}
    for mib, h in pulls.items():
        if h:
            out.append(
                _t(
                    f"5. PULL {size_label(mib)}: bytes the handler read from S3",
                    f"{h['s3_get_bytes']} B",
                    "0",
                    h["s3_get_bytes"] == 0,
                    f"{h['s3_get_requests']} GETs, {h.get('s3_head_requests', 0)} HEAD; Amplify fetched "
                    f"{fmt_size(h.get('s3_presigned_get_bytes', 0))} by the presigned URL",
                )
            )
    small, big = (pulls.get(sizes[0]), pulls.get(sizes[-1])) if len(sizes) > 1 else (None, None)
    if small and big:
        ratio = pull_own_s(big) / pull_own_s(small)
        n = sum(1 for r in results["runs"] if r["workload"] == f"pull-{sizes[-1]}mib")
        out.append(
            _t(
                f"5. PULL: handler time {size_label(sizes[-1])} / {size_label(sizes[0])} (job excluded)",
                f"{ratio:.2f}x",
                "<= 1.1x",
                ratio <= 1.1,
                f"{pull_own_s(big):.2f} s vs {pull_own_s(small):.2f} s (wall {big['wall_s']:.2f} / "
                f"{small['wall_s']:.2f} s, minus StartDeployment..SUCCEED {pull_job_s(big):.2f} / "
                f"{pull_job_s(small):.2f} s)" + (f"; medians of {n} runs each" if n > 1 else ""),
            )
        )
    for n, limit in ((p.get("big_files"), 1.5), (p.get("main_files"), 1.2)):
        h, b = run_of(results, f"files-{n}", "handler"), run_of(results, f"files-{n}", "baseline")
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
                f"{h['s3_get_requests']} GETs, {fmt_size(h['s3_get_bytes'])} read",
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
