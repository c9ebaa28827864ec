"""The S3 read failing mid-stream (the connection cut after some bytes of a GET's body, by a
FaultProxy in front of moto): the read is restarted, and what reaches Amplify is never truncated or
corrupted - every byte served by the emulator afterwards equals the source."""

from __future__ import annotations

import random

import pytest
from reliability_support import assert_reason

BLOB = random.Random(5).randbytes(700 * 1024)  # incompressible: its entry really streams
INDEX = b"<h1>intact</h1>"

# Which GET of the object(s) is cut. GETs in order: the central directory (one ranged GET of each
# source's tail), then, per mode, the entry or object reads.
CASES = {
    # ZIP mode, one clean source: tail GET, then the whole object streamed into the zip PUT
    "zip-central-directory": ("ZIP", 1, 0),
    "zip-direct-stream": ("ZIP", 1, 1),
    # ZIP mode, two sources: merged zip built from ranged entry GETs after both tails
    "zip-merged-build": ("ZIP", 2, 2),
    # FILES mode: tail GET, one entry GET per file for the md5 pass (2 files), then one per upload
    "files-md5-pass": ("FILES", 1, 1),
    "files-upload": ("FILES", 1, 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_cut_s3_read_is_restarted_and_the_site_arrives_intact(site, s3_faults, case):
    mode, n_sources, skip = CASES[case]
    files = {"index.html": INDEX, "assets/blob.bin": BLOB}
    if n_sources == 1:
        sources = [site.source(site.put_zip(files))]
    else:
        sources = [site.source(site.put_zip({"index.html": b"old"})), site.source(site.put_zip(files))]
    # only GETs of the bucket's objects; big enough cuts land inside the blob's bytes
    s3_faults.cut_body(after=64 * 1024 if skip else 100, skip=skip)
    resp = site.invoke("Create", site.props(*sources, mode=mode))
    assert s3_faults.cuts == 1, f"the fault did not fire: {s3_faults.requests}"
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["FileCount"] == "2"
    assert resp["Data"]["ByteCount"] == str(len(INDEX) + len(BLOB))
    assert site.fetch("/") == (200, INDEX)
    assert site.fetch("/assets/blob.bin") == (200, BLOB)
    # one job, not a failed one followed by a retry of the whole deployment
    assert [j["status"] for j in site.jobs()] == ["SUCCEED"]


def test_a_read_that_keeps_being_cut_fails_before_any_job_naming_the_file(site, s3_faults):
    site.deploy_live({"index.html": "live"})
    key = site.put_zip({"index.html": INDEX, "assets/blob.bin": BLOB})
    # let the HEAD and the central-directory GET through, then cut every entry read of the md5 pass
    s3_faults.cut_body(after=64 * 1024, skip=1, times=1000, match=lambda m, p: m == "GET" and key in p)
    resp = site.invoke(
        "Update", site.props(site.source(key), mode="FILES"), physical_id=f"{site.app_id}/main"
    )
    assert_reason(resp, "cannot read ")
    assert "from s3://cdk-assets-reliability/assets/" in resp["Reason"]
    assert "resumes failed" in resp["Reason"]
    assert [j["status"] for j in site.jobs()] == ["SUCCEED"]  # no job was created
    assert site.fetch("/") == (200, b"live")


def test_a_cut_window_read_of_small_files_is_resumed(site, s3_faults):
    """FILES mode reads small files (<= 256 KiB each) in windows: one ranged GET for many entries.
    Cutting that GET (the second GET, after the central directory) must not lose or corrupt one."""
    small = {f"assets/part{i}.bin": random.Random(i).randbytes(200 * 1024) for i in range(3)}
    files = {"index.html": INDEX, **small}
    s3_faults.cut_body(after=300 * 1024, skip=1)
    resp = site.invoke("Create", site.props(site.source(site.put_zip(files)), mode="FILES"))
    assert s3_faults.cuts == 1
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    for path, data in files.items():
        assert site.fetch("/" + path) == (200, data), path
    assert [j["status"] for j in site.jobs()] == ["SUCCEED"]
