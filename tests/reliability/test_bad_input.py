"""Bad input at deploy time, through the whole handler against the emulator and moto: FAILED with a
one-line reason (at most 256 characters, starting with what failed), no job created, the live site
unchanged. The pure rules behind these are unit-tested in tests/handler/test_plan.py and
test_props.py; the synth-time checks in tests/construct/test_template.py."""

from __future__ import annotations

import io
import stat
import warnings
import zipfile

import pytest
from handler_support import make_zip
from reliability_support import assert_no_secrets, assert_reason

LIVE = {"index.html": "live"}


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on the duplicate name we want
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def _symlink_zip() -> bytes:
    link = zipfile.ZipInfo("link.html")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip([("index.html", b"i"), (link, b"/etc/passwd")])


def _flagged_utf8_name_that_is_not() -> bytes:
    """An entry flagged UTF-8 (bit 11) whose name bytes are not UTF-8 (the first entry)."""
    data = bytearray(make_zip({"bad-X.txt": b"x", "index.html": "i"}))
    data = bytearray(bytes(data).replace(b"bad-X.txt", b"bad-\xff.txt"))
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = bytes(data).index(sig)
        data[i + flag_at + 1] |= 0x08
    return bytes(data)


BAD_SOURCES = {
    "not-a-zip": (b"<html>this is not a zip</html>", "ZIP", "source s3://cdk-assets-reliability/"),
    "dot-dot": (
        _zip([("index.html", b"i"), ("../escape.html", b"x")]),
        "ZIP",
        "Sources[0]: entry '../escape.html' contains '..'",
    ),
    "absolute": (
        _zip([("index.html", b"i"), ("/etc/passwd", b"x")]),
        "FILES",
        "Sources[0]: entry '/etc/passwd'",
    ),
    "symlink": (_symlink_zip(), "ZIP", "Sources[0]: entry 'link.html'"),
    "duplicate": (
        _zip([("index.html", b"i"), ("a.txt", b"1"), ("a.txt", b"2")]),
        "ZIP",
        "Sources[0]: 'a.txt' appears twice",
    ),
    "not-utf8-flagged": (_flagged_utf8_name_that_is_not(), "ZIP", "source s3://cdk-assets-reliability/"),
    "path-over-255-files": (make_zip({"index.html": "i", "d/" + "x" * 260: "y"}), "FILES", "path 'd/xxx"),
    "no-files": (_zip([("empty/", b"")]), "ZIP", "the site has no files"),
    "empty-zip": (_zip([]), "FILES", "the site has no files"),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_a_bad_source_fails_before_any_job_and_the_live_site_stays(site, case):
    data, mode, starts = BAD_SOURCES[case]
    site.deploy_live(LIVE)
    key = site.put_bytes(data)
    resp = site.invoke("Update", site.props(site.source(key), mode=mode), physical_id=f"{site.app_id}/main")
    assert_reason(resp, starts)
    assert resp["PhysicalResourceId"] == f"{site.app_id}/main"
    assert [j["status"] for j in site.jobs()] == ["SUCCEED"]  # nothing new was created
    assert site.fetch("/") == (200, b"live")
    assert_no_secrets(site.log_text + str(resp))


def test_an_app_that_does_not_exist(site):
    key = site.put_zip(LIVE)
    resp = site.invoke("Create", site.props(site.source(key), AppId="dnotthere0000"))
    assert_reason(resp, "ListJobs failed on dnotthere0000/main: ")
    assert "dnotthere0000" in resp["Reason"]


def test_a_branch_that_does_not_exist(site):
    key = site.put_zip(LIVE)
    resp = site.invoke("Create", site.props(site.source(key), BranchName="nope"))
    assert_reason(resp, f"ListJobs failed on {site.app_id}/nope: ")
    assert site.jobs() == []


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_an_app_connected_to_a_git_repository(site, mode):
    app_id = site.amplify.create_app(name="git", repository="https://github.com/example/site")["app"]["appId"]
    site.amplify.create_branch(appId=app_id, branchName="main")
    key = site.put_zip(LIVE)
    resp = site.invoke("Create", site.props(site.source(key), AppId=app_id, mode=mode))
    assert_reason(resp, f"CreateDeployment failed on {app_id}/main: BadRequestException: ")
    assert "repository" in resp["Reason"]
    assert site.amplify.list_jobs(appId=app_id, branchName="main")["jobSummaries"] == []


@pytest.mark.parametrize(
    "props,starts",
    [
        (None, "invalid properties: "),
        (
            {"AppId": ["d1"], "BranchName": "main", "Sources": [{"BucketName": "b", "ObjectKey": "k"}]},
            "invalid properties: AppId must be a string",
        ),
        (
            {"AppId": "d1", "BranchName": "main", "Sources": [{"BucketName": "b"}]},
            "invalid properties: Sources[0].ObjectKey is required",
        ),
        (
            {
                "AppId": "d1",
                "BranchName": "main",
                "Sources": [{"BucketName": "b", "ObjectKey": "k", "Markers": "x"}],
            },
            "invalid properties: Sources[0].Markers must be an object",
        ),
        (
            {"AppId": "d1", "BranchName": "b" * 5000, "Sources": [{"BucketName": "b", "ObjectKey": "k"}]},
            "invalid properties: BranchName",
        ),
        ({"AppId": "d1" + "x" * 5000, "BranchName": "main", "Sources": []}, "invalid properties: AppId"),
    ],
    ids=["no-properties", "app-id-list", "no-object-key", "markers-string", "huge-branch", "huge-app-id"],
)
def test_malformed_properties_fail_with_one_short_line(site, props, starts):
    event = site.event("Create", {})
    if props is None:
        del event["ResourceProperties"]
    else:
        event["ResourceProperties"] = {"ServiceToken": event["ServiceToken"], **props}
    site.deliver(event)
    (resp,) = site.responses(event)
    assert_reason(resp, starts)
    assert "Traceback" not in site.log_text
    assert resp["PhysicalResourceId"]  # CloudFormation needs one, even for a failed Create
