"""Structured log lines (logs.py): pure checks with a fake clock, then the lines of full FILES and
ZIP runs through the handler (one JSON object per stage line, progress rate-limited, no URL)."""

from __future__ import annotations

import json
import logging
import random

import pytest

from amplify_deployment_handler import logs
from amplify_deployment_handler.logs import Progress, line


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def stage_lines(records: list[logging.LogRecord]) -> list[dict]:
    """The handler's own lines (crhelper's stay plain text), each parsed as JSON."""
    out = []
    for r in records:
        if r.name.startswith("amplify_deployment_handler") and r.getMessage().startswith("{"):
            out.append(json.loads(r.getMessage()))
    return out


def test_a_line_is_small_json_without_urls():
    url = "https://bucket.s3.amazonaws.com/x?X-Amz-Signature=abc"
    text = line("retry", msg=f"PUT {url} failed", n=None, s=1.23456)
    assert json.loads(text) == {"stage": "retry", "msg": "PUT <url> failed", "s": 1.23}
    assert len(json.loads(line("x", msg="y" * 1000))["msg"]) == 300


def test_progress_lines_are_rate_limited_by_the_clock(caplog):
    clock = Clock()
    p = Progress(files_total=100, bytes_total=100_000, interval=5.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="amplify_deployment_handler"):
        for _ in range(100):
            clock.now += 0.5  # 50 s in all: one line per 5 s
            p.add(1, 1000)
        p.done()
    lines = stage_lines(caplog.records)
    assert p.lines == 10 and len(lines) == 11
    assert [x["files"] for x in lines[:3]] == [10, 20, 30]
    final = lines[-1]
    assert final == {
        "stage": "upload",
        "done": True,
        "files": 100,
        "files_total": 100,
        "bytes": 100_000,
        "bytes_total": 100_000,
        "mb_per_s": 0.0,  # 0.1 MB in 50 s, rounded to 2 digits
        "seconds": 50.0,
    }


def test_no_progress_line_before_the_interval_and_rewind(caplog):
    clock = Clock()
    p = Progress(files_total=1, bytes_total=10, interval=5.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="amplify_deployment_handler"):
        p.add(0, 7)
        p.rewind()  # a retried attempt
        p.add(0, 10)
        clock.now += 2
        p.done(attempts=2)
    (final,) = stage_lines(caplog.records)
    assert final["bytes"] == 10 and final["attempts"] == 2 and final["mb_per_s"] == 0.0


def _files_site(n: int) -> dict[str, bytes]:
    rng = random.Random(4)
    files = {f"f/{i:03d}.txt": rng.randbytes(rng.randrange(1, 3000)) for i in range(n)}
    files["index.html"] = b"<h1>logs</h1>"
    return files


@pytest.mark.parametrize("mode", ["FILES", "ZIP"])
@pytest.mark.parametrize("interval", ["0", "3600"])
def test_a_full_run_logs_one_json_line_per_stage(site, handler_env, mode, interval):
    handler_env(AMPLIFY_DEPLOYMENT_PROGRESS_INTERVAL=interval)
    files = _files_site(120)
    key = site.put_zip(files)
    # a second source with a marker: ZIP mode builds a merged zip (the "prepare" stage)
    marked = site.put_zip({"config.js": "window.v='<<marker:0xbaba:0>>'"})
    sources = [site.source(key), site.source(marked, {"<<marker:0xbaba:0>>": "1"})]
    resp = site.invoke("Create", site.props(*sources, mode=mode))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    lines = stage_lines(site.records)
    stages = [x["stage"] for x in lines]
    n_files = len(files) + 1
    total = sum(len(v) for v in files.values()) + len("window.v='1'")

    request = lines[stages.index("request")]
    assert request == {
        "stage": "request",
        "request": "Create",
        "app": site.app_id,
        "branch": site.branch,
        "mode": mode,
        "sources": 2,
    }
    plan = lines[stages.index("plan")]
    assert plan["mode"] == ("FILES" if mode == "FILES" else "ZIP merged")
    assert plan["files"] == n_files and plan["sources"] == 2
    assert lines[stages.index("changes")] == {
        "stage": "changes",
        "added": n_files,
        "changed": 0,
        "removed": 0,
        "added_paths": sorted([*files, "config.js"])[:5],
        "compared_with": "nothing (Create)",
        "seconds": lines[stages.index("changes")]["seconds"],
    }
    prepare = lines[stages.index("prepare")]
    if mode == "FILES":
        assert prepare["files"] == n_files and prepare["bytes"] == total and prepare["windows"] == 2
    else:
        assert prepare["merged_zip_bytes"] > 0
    jobs = [x for x in lines if x["stage"] == "job"]
    assert [x.get("action") or x.get("status") for x in jobs][:2] == ["created", "started"]
    assert jobs[-1] == {"stage": "job", "job_id": "1", "status": "SUCCEED"}
    assert all(x["job_id"] == "1" for x in jobs)

    uploads = [x for x in lines if x["stage"] == "upload"]
    if mode == "FILES":  # first, how many files get a URL and how many Amplify already holds
        assert uploads.pop(0) == {"stage": "upload", "files_to_upload": n_files, "files_held_by_amplify": 0}
    final = uploads[-1]
    assert final["done"] is True and isinstance(final["mb_per_s"], float)
    if mode == "FILES":
        assert (final["files"], final["files_total"], final["bytes"]) == (n_files, n_files, total)
    else:
        assert final["files"] == final["files_total"] == 1 and final["bytes"] == final["bytes_total"] > 0
        assert final["attempts"] == 1
    progress = uploads[:-1]
    if interval == "3600":
        assert progress == []  # rate-limited: nothing before the final line
    elif mode == "FILES":
        assert 1 <= len(progress) <= n_files  # at most one per file at interval 0
        assert all(0 < x["files"] <= n_files for x in progress)
    result = lines[-1]
    assert result["stage"] == "result" and result["status"] == "SUCCESS"
    assert (result["job_id"], result["files"], result["bytes"]) == ("1", n_files, total)
    # order of the stages, and nothing else from the handler on a clean run
    order = [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]]
    assert order == ["request", "plan", "changes", "prepare", "job", "upload", "job", "result"]
    own = [r.getMessage() for r in site.records if r.name.startswith("amplify_deployment_handler")]
    assert not [m for m in own if "://" in m]
    for secret in ("X-Amz-", "/_upload/", "/cfn/"):  # upload URLs and the ResponseURL, in any line
        assert secret not in site.log_text


def test_a_failed_run_ends_with_a_json_result_line(site):
    resp = site.invoke("Create", site.props(site.source("assets/missing.zip"), mode="FILES"))
    assert resp["Status"] == "FAILED"
    result = stage_lines(site.records)[-1]
    assert result["stage"] == "result" and result["status"] == "FAILED"
    assert result["reason"] == resp["Reason"]
    assert [r.levelno for r in site.records if "result" in r.getMessage()][-1] == logging.ERROR


def test_the_json_logger_is_the_handlers():
    assert logs.logger.name == "amplify_deployment_handler"
