"""Zip extraction stays inside its target folder. The handler never extracts to disk (it streams
entries and rejects `..`/absolute names: tests/reliability/test_bad_input.py). Two places in the
sandbox read zips: the driver extracts a Lambda code asset that is a zip file (assets.unpack_code),
and the emulator serves a deployed zip (it looks entries up by name, never extracting). Neither lets a
`..` or absolute entry write or serve outside its folder."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from amplify_sandbox import Sandbox
from amplify_sandbox.driver.assets import unpack_code
from amplify_sandbox.driver.synth import FileAsset

EVIL = ["../escape.txt", "../../escape2.txt", "/tmp/escape3.txt", "a/../../escape4.txt"]


def _evil_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("index.py", "def handler(event, context): pass\n")
        for name in EVIL:
            zf.writestr(name, "escaped")
    return path


def _escaped(root: Path) -> list[Path]:
    return [p for p in root.rglob("escape*") if p.is_file()] + [
        p for p in Path("/tmp").glob("escape3.txt") if p.read_text(errors="replace") == "escaped"
    ]


def test_the_driver_extracts_a_zip_code_asset_inside_its_folder(tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    asset = FileAsset("h", "code", _evil_zip(work / "code.zip"), "file", [])
    dest = unpack_code(asset, work / "functions" / "h")
    assert (dest / "index.py").is_file()
    inside = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    outside = [p for p in _escaped(tmp_path) if dest not in p.parents]
    assert outside == [], outside
    assert len(inside) == 1 + len(EVIL)  # the entries landed, sanitised, under dest
    assert not Path("/tmp/escape3.txt").exists()


def test_the_emulator_serves_dot_dot_entries_from_the_zip_never_from_disk(tmp_path):
    with Sandbox(state_dir=tmp_path / "state") as sb:
        amplify = sb.client("amplify")
        app_id = amplify.create_app(name="confined")["app"]["appId"]
        amplify.create_branch(appId=app_id, branchName="main")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("index.html", "home")
            for name in EVIL:
                zf.writestr(name, "escaped")
        created = amplify.create_deployment(appId=app_id, branchName="main")
        req = urllib.request.Request(created["zipUploadUrl"], data=buf.getvalue(), method="PUT")
        urllib.request.urlopen(req, timeout=10).read()
        # and a FILES deployment whose fileMap keys try the same
        files = {name: b"escaped" for name in EVIL} | {"index.html": b"home2"}
        amplify.start_deployment(appId=app_id, branchName="main", jobId=created["jobId"])
        _wait_done(amplify, app_id, created["jobId"])
        fm = {k: hashlib.md5(v).hexdigest() for k, v in files.items()}
        created2 = amplify.create_deployment(appId=app_id, branchName="main", fileMap=fm)
        for name, url in created2["fileUploadUrls"].items():
            urllib.request.urlopen(
                urllib.request.Request(url, data=files[name], method="PUT"), timeout=10
            ).read()
        amplify.start_deployment(appId=app_id, branchName="main", jobId=created2["jobId"])
        _wait_done(amplify, app_id, created2["jobId"])
        site = sb.emulator.site_url(app_id, "main")
        assert _get(site) == b"home2"
        for probe in ("../escape.txt", "%2e%2e/escape.txt", "..%2fescape.txt"):
            assert _get(site + probe) in (None, b"escaped")  # at most the entry itself, never a host file
    assert [p for p in _escaped(tmp_path)] == []


def _wait_done(amplify, app_id: str, job_id: str) -> None:
    import time

    for _ in range(200):
        status = amplify.get_job(appId=app_id, branchName="main", jobId=job_id)["job"]["summary"]["status"]
        if status in ("SUCCEED", "FAILED", "CANCELLED"):
            assert status == "SUCCEED"
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read()
    except urllib.error.HTTPError:
        return None
