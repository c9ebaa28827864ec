"""Scale: a 1 GiB zip streamed through the emulator without holding it in memory; a 10,000-file fileMap."""

from __future__ import annotations

import http.client
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from ._helpers import Emu, get, md5, put

GIB = 1024**3
CHUNK = 8 * 1024**2


def vm_hwm() -> int:
    """Peak resident set size of this process (the emulator runs in it), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current RSS
    except OSError:
        pass  # then the check below measures against the earlier peak, which is stricter still


def write_big_zip(path: Path, size: int) -> None:
    """A zip with index.html and one stored entry of `size` bytes of a repeating pattern, in chunks."""
    block = (bytes(range(256)) * (CHUNK // 256))[:CHUNK]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("index.html", "<h1>big</h1>")
        with zf.open(zipfile.ZipInfo("big.bin"), "w", force_zip64=True) as out:
            left = size
            while left:
                n = min(left, CHUNK)
                out.write(block[:n])
                left -= n


def test_a_1_gib_zip_is_streamed_to_disk_not_memory(emu: Emu, tmp_path: Path) -> None:
    big = tmp_path / "big.zip"
    write_big_zip(big, GIB)
    size = big.stat().st_size
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(appId=app_id, branchName=branch)
    reset_peak_rss()
    before = vm_hwm()
    with big.open("rb") as body:
        status, answer = put(dep["zipUploadUrl"], body, length=size, timeout=300)
    assert status == 200, answer
    grown = vm_hwm() - before
    assert grown < 200 * 1024**2, f"peak RSS grew by {grown / 1024**2:.0f} MiB during a 1 GiB upload"
    assert emu.emulator.counters["bytes_received"] == size
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    assert emu.job(app_id, branch, dep["jobId"])["summary"]["status"] == "SUCCEED"
    root = emu.emulator.site_url(app_id, branch)
    assert get(root)[2] == b"<h1>big</h1>"
    status, headers, _ = get(root + "big.bin", method="HEAD")
    assert status == 200 and int(headers["content-length"]) == GIB
    parts = urlsplit(root)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", "/big.bin")
    resp = conn.getresponse()
    assert resp.read(512) == bytes(range(256)) * 2
    conn.close()
    # the upload is stored once (no temp copy left behind)
    stored = [p for p in emu.emulator.backend.content_dir.rglob("*") if p.is_file()]
    assert [p.stat().st_size for p in stored] == [size]


def test_a_10000_file_filemap_deployment(emu: Emu) -> None:
    files = {f"pages/{i // 100}/page-{i}.html": f"<p>page {i}</p>".encode() for i in range(10_000)}
    files["index.html"] = b"<h1>ten thousand</h1>"
    app_id, branch = emu.app_branch()
    dep = emu.client.create_deployment(
        appId=app_id, branchName=branch, fileMap={name: md5(body) for name, body in files.items()}
    )
    urls = dep["fileUploadUrls"]
    assert len(urls) == len(files) and all(len(u) <= 1000 for u in urls.values())
    local = threading.local()

    def upload(name: str) -> int:
        if not hasattr(local, "conn"):
            parts = urlsplit(urls[name])
            local.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        return put(urls[name], files[name], conn=local.conn)[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(upload, files))
    assert statuses == [200] * len(files)
    emu.client.start_deployment(appId=app_id, branchName=branch, jobId=dep["jobId"])
    emu.finish_jobs()
    assert emu.job(app_id, branch, dep["jobId"])["summary"]["status"] == "SUCCEED"
    root = emu.emulator.site_url(app_id, branch)
    assert get(root)[2] == b"<h1>ten thousand</h1>"
    for i in (0, 4321, 9999):
        assert get(f"{root}pages/{i // 100}/page-{i}.html")[2] == f"<p>page {i}</p>".encode()
    counters = emu.emulator.counters
    assert counters["requests"]["Upload"] == counters["uploads_accepted"] == len(files)
