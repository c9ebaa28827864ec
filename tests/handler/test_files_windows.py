"""FILES mode's windows end to end (the handler invoked as Lambda does, against the emulator and moto
S3): the md5 pass and the upload read small files by window, byte-exact whatever the keep budget; and
a mode that starts from a source URL instead of creating a deployment."""

from __future__ import annotations

import dataclasses
import random

import pytest
from handler_support import assert_no_secrets

from amplify_deployment_handler import index
from amplify_deployment_handler.upload import UploadPolicy


def _small_site(n: int, seed: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    return {f"s/{i:04d}.bin": rng.randbytes(rng.randrange(0, 12_000)) for i in range(n)}


FAST_UPLOADS = UploadPolicy(attempts=3, timeout=2.0, backoff_base=0.05, backoff_max=0.1)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    """Upload retries with short pauses (the policy's shape is unchanged; only the waits shrink)."""
    real = index.settings_from_env
    monkeypatch.setattr(index, "settings_from_env", lambda: dataclasses.replace(real(), upload=FAST_UPLOADS))


@pytest.mark.parametrize("budget", [None, 300_000])  # default: all small files kept; small: none kept
def test_files_mode_windows_deploy_byte_exact(site, monkeypatch, budget):
    """Many small files (their zip spans several 2 MiB windows, so files straddle window limits), a
    large file, a second source with markers, and the first window GET cut halfway (resumed): every
    file arrives byte-exact; with the default budget uploads read nothing more from S3, with a small
    one they read the small files again by window."""
    from amplify_deployment_handler import files_pass, s3io

    if budget is not None:
        monkeypatch.setattr(files_pass, "KEEP_BUDGET", budget)
    files = _small_site(600, 11)  # ~3.5 MB incompressible: 2 windows
    files["index.html"] = b"<h1>windows</h1>"
    files["big/blob.bin"] = random.Random(12).randbytes(700 * 1024)
    marked = {f"m/{i}.js": f"const a = '<<marker:0xbaba:0>>'; // {i} {'x' * i}" for i in range(50)}
    gets: list[tuple[int, int]] = []
    cut = {"left": 1}
    real = s3io._get_range

    class CutBody:
        def __init__(self, body, n):
            self._body, self._left = body, n

        def read(self, n=-1):
            if self._left <= 0:
                from botocore.exceptions import ReadTimeoutError

                raise ReadTimeoutError(endpoint_url="s3")
            data = self._body.read(min(n, self._left) if n >= 0 else self._left)
            self._left -= len(data)
            return data

        def close(self):
            self._body.close()

    def get_range(client, bucket, key, start, end):
        gets.append((start, end))
        body = real(client, bucket, key, start, end)
        if end - start > 1_000_000 and cut["left"]:
            cut["left"] -= 1
            return CutBody(body, (end - start) // 2)
        return body

    monkeypatch.setattr(s3io, "_get_range", get_range)
    one, two = site.put_zip(files), site.put_zip(marked)
    resp = site.invoke(
        "Create", site.props(site.source(one), site.source(two, {"<<marker:0xbaba:0>>": "v=1"}), mode="FILES")
    )
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    expected = {**files, **{p: v.replace("<<marker:0xbaba:0>>", "v=1").encode() for p, v in marked.items()}}
    assert resp["Data"]["FileCount"] == str(len(expected))
    assert resp["Data"]["ByteCount"] == str(sum(len(v) for v in expected.values()))
    assert cut["left"] == 0 and "cut at byte" in site.log_text
    for path, data in expected.items():
        assert site.fetch("/" + path) == (200, data), path
    if budget is None:
        # 2 listings, 3 windows (+1 resume), the large file twice (md5 pass, upload): not one per file
        assert len(gets) <= 10, gets
    else:
        # past the budget, small files are read again for their upload by window, not one by one
        assert '"kept_bytes":0' in site.log_text
        assert len(gets) <= 16, gets


def test_a_mode_without_create_deployment_starts_from_its_source(site, monkeypatch):
    """The upload-mode seam for a mode in which Amplify fetches the zip itself: no CreateDeployment,
    no upload, StartDeployment with the mode's sourceUrl (here a presigned GET of the source)."""
    from amplify_deployment_handler import deploy, upload_modes

    class Pulled(upload_modes.ZipDirect):
        creates_deployment = False

        def start_source(self):
            src = self.site.sources[0]
            params = {"Bucket": src.bucket, "Key": src.key}
            url = self.site.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=600)
            return {"sourceUrl": url, "sourceUrlType": "ZIP"}

    monkeypatch.setattr(deploy, "choose_mode", Pulled)
    key = site.put_zip({"index.html": "<h1>pulled</h1>"})
    resp = site.invoke("Create", site.props(site.source(key)))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert site.fetch("/") == (200, b"<h1>pulled</h1>")
    assert '"action":"created"' not in site.log_text and '"action":"started"' in site.log_text
    assert '"stage":"upload"' not in site.log_text
    assert_no_secrets(site, resp)


def test_files_past_the_keep_budget_are_read_again_by_window(site, monkeypatch):
    """More small-file content than the keep budget: nothing is kept, and the upload reads the files
    again one window at a time (one GET per <= 2 MiB of the zip, never one per file), with at most
    WINDOWS_IN_FLIGHT window buffers held at once; every file arrives byte-exact."""
    from amplify_deployment_handler import files_pass, files_upload, s3io

    monkeypatch.setattr(files_pass, "KEEP_BUDGET", 1_000_000)
    monkeypatch.setattr(files_upload, "WINDOWS_IN_FLIGHT", 2)
    held = {"max": 0}

    class Counted(files_upload._Work):
        def fetched(self, fetched, files, streams):
            super().fetched(fetched, files, streams)
            held["max"] = max(held["max"], self.in_flight)

        def window_file_done(self, fetched):
            super().window_file_done(fetched)
            held["max"] = max(held["max"], self.in_flight)

    monkeypatch.setattr(files_upload, "_Work", Counted)
    gets: list[tuple[int, int]] = []
    real = s3io._get_range

    def get_range(client, bucket, key, start, end):
        gets.append((start, end))
        return real(client, bucket, key, start, end)

    monkeypatch.setattr(s3io, "_get_range", get_range)
    rng = random.Random(21)
    # ~2,500 files of 0-4 KB, incompressible: ~5 MB, i.e. 3 windows per pass
    files = {f"a/{i % 7}/{i:05d}.bin": rng.randbytes(rng.randrange(0, 4_000)) for i in range(2_500)}
    files["index.html"] = b"<h1>many</h1>"
    key = site.put_zip(files)
    resp = site.invoke("Create", site.props(site.source(key), mode="FILES"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["FileCount"] == str(len(files))
    for path, data in files.items():
        assert site.fetch("/" + path) == (200, data), path
    assert '"kept_bytes":0' in site.log_text
    windows = -(-sum(len(v) + 120 for v in files.values()) // (2 * 1024 * 1024))  # ~2 MiB of zip each
    # the listing (1-2 GETs), the md5 pass and the upload by window; no GET per file
    assert len(gets) <= 2 + 2 * (windows + 1), (len(gets), windows)
    assert 0 < held["max"] <= 2


def test_a_file_that_changed_since_the_md5_pass_fails_the_upload_and_stops_the_job(site, monkeypatch):
    from amplify_deployment_handler import files_pass, files_upload

    monkeypatch.setattr(files_pass, "KEEP_BUDGET", 10)  # nothing kept: every file read again by window
    real = files_upload.substitute_bytes

    def changed(data, markers):
        out = real(data, markers)
        return out + b"!" if out == b"two" else out

    monkeypatch.setattr(files_upload, "substitute_bytes", changed)
    key = site.put_zip({"index.html": "one", "b.txt": "two", "c.txt": "three"})
    resp = site.invoke("Create", site.props(site.source(key), mode="FILES"))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith("'b.txt' changed in its source between the md5 pass and its upload")
    assert resp["Reason"].endswith("job 1 stopped, the live site is unchanged")
    assert site.job("1")["summary"]["status"] == "CANCELLED"
