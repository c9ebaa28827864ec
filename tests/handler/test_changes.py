"""What a deployment changes (changes.py, pure) and the bounded, best-effort reads around it
(site_changes.py) against an in-memory S3: no servers."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError
from handler_support import make_zip

from amplify_deployment_handler import changes, site_changes
from amplify_deployment_handler import plan as planning
from amplify_deployment_handler.deadline import Deadline
from amplify_deployment_handler.logs import line
from amplify_deployment_handler.props import parse_props
from amplify_deployment_handler.s3io import SourceError
from amplify_deployment_handler.sources import read_sources


class MemoryS3:
    """HeadObject and ranged GetObject over objects in memory; records each GET's range."""

    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects
        self.ranges: list[tuple[str, int, int]] = []
        self.block: threading.Event | None = None  # set: every call waits for it

    def _get(self, bucket: str, key: str) -> bytes:
        if self.block is not None:
            self.block.wait(30)
        if (bucket, key) not in self.objects:
            raise ClientError(
                {"Error": {"Code": "404"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "HeadObject"
            )
        return self.objects[(bucket, key)]

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        return {"ContentLength": len(self._get(Bucket, Key))}

    def get_object(self, Bucket: str, Key: str, Range: str) -> dict[str, Any]:  # noqa: N803
        data = self._get(Bucket, Key)
        start, end = (int(x) for x in Range.removeprefix("bytes=").split("-"))
        self.ranges.append((Key, start, end))
        return {"Body": io.BytesIO(data[start : end + 1])}


def raw_props(*sources: dict[str, Any], mode: str = "ZIP", **over: Any) -> dict[str, Any]:
    return {"AppId": "d1", "BranchName": "main", "UploadMode": mode, "Sources": list(sources), **over}


def src(key: str, markers: dict[str, str] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"BucketName": "b", "ObjectKey": key}
    if markers:
        s["Markers"] = markers
    return s


def files_from(raw: dict[str, Any], objects: dict[tuple[str, str], bytes]) -> changes.SiteFiles:
    props = parse_props(raw)
    listings = []
    for i, s in enumerate(props.sources):
        with zipfile.ZipFile(io.BytesIO(objects[(s.bucket, s.key)])) as zf:
            listings.append(planning.list_source(zf.infolist(), i, f"Sources[{i}]"))
    return changes.site_files(props, listings)


OLD = {"index.html": "v1", "about.html": "about", "old/gone.txt": "bye", "same.css": "body{}"}
NEW = {"index.html": "v2", "about.html": "about", "new.txt": "hi", "same.css": "body{}"}


def test_added_changed_and_removed_by_size_and_crc():
    objects = {("b", "old.zip"): make_zip(OLD), ("b", "new.zip"): make_zip(NEW)}
    got = changes.compare(
        files_from(raw_props(src("old.zip")), objects), files_from(raw_props(src("new.zip")), objects)
    )
    assert got == changes.Changes(added=("new.txt",), changed=("index.html",), removed=("old/gone.txt",))
    assert not got.unchanged


def test_same_size_different_bytes_is_changed_and_a_rezip_is_not():
    objects = {
        ("b", "a.zip"): make_zip({"index.html": "aaaa", "x.js": "1"}, zipfile.ZIP_STORED),
        ("b", "b.zip"): make_zip({"index.html": "bbbb", "x.js": "1"}),  # other compression: same x.js
    }
    got = changes.compare(
        files_from(raw_props(src("a.zip")), objects), files_from(raw_props(src("b.zip")), objects)
    )
    assert got == changes.Changes(changed=("index.html",))


def test_a_changed_deploy_time_value_changes_the_files_of_its_source_only():
    objects = {
        ("b", "site.zip"): make_zip({"index.html": "x"}),
        ("b", "cfg.zip"): make_zip({"config.json": "<<m:0>>"}),
    }
    before = raw_props(src("site.zip"), src("cfg.zip", {"<<m:0>>": "table-1"}))
    after = raw_props(src("site.zip"), src("cfg.zip", {"<<m:0>>": "table-2"}))
    same = raw_props(src("site.zip"), src("cfg.zip", {"<<m:0>>": "table-1"}))
    assert changes.compare(files_from(before, objects), files_from(after, objects)) == changes.Changes(
        changed=("config.json",)
    )
    assert changes.compare(files_from(before, objects), files_from(same, objects)).unchanged


def test_filters_and_prefix_of_each_side_apply():
    objects = {("b", "s.zip"): make_zip({"index.html": "x", "app.js.map": "m"})}
    old = files_from(raw_props(src("s.zip"), Exclude=["*.map"]), objects)
    new = files_from(raw_props(src("s.zip"), DestinationKeyPrefix="docs"), objects)
    got = changes.compare(old, new)
    assert got.added == ("docs/app.js.map", "docs/index.html") and got.removed == ("index.html",)


def test_log_fields_name_the_first_paths_and_data_holds_counts_only():
    many = changes.Changes(added=tuple(f"f{i:03}.html" for i in range(40)), removed=("x",))
    fields = changes.log_fields(many)
    assert fields["added"] == 40 and fields["changed"] == 0 and fields["removed"] == 1
    assert fields["added_paths"] == [f"f{i:03}.html" for i in range(changes.SAMPLE)]
    assert "changed_paths" not in fields
    assert changes.response_data(many) == {"FilesAdded": "40", "FilesChanged": "0", "FilesRemoved": "1"}
    why = changes.NotCounted("gone")
    assert changes.log_fields(why) == {"counted": False, "why": "gone"}
    assert changes.response_data(why) == {"FilesAdded": "", "FilesChanged": "", "FilesRemoved": ""}


def test_the_data_stays_small_whatever_the_site():
    huge = changes.Changes(added=tuple(f"{'p' * 250}{i}" for i in range(20000)))
    assert len(json.dumps(changes.response_data(huge))) < 100
    assert len(line("changes", **changes.log_fields(huge))) < 1000  # 5 paths, each cut to 120 chars


def test_short_summary():
    assert changes.short_summary(3, 2, 1) == "+3 ~2 -1"
    assert changes.short_summary(0, 0, 0) == "unchanged"


# ---------------------------------------------------------------- site_changes: reads and the bound


def count(s3: MemoryS3, raw: dict[str, Any], previous: site_changes.Previous, budget: float = 5.0):
    props = parse_props(raw)
    entries = None
    if props.upload_mode != "PULL":
        entries = planning.make_plan(props, read_sources(s3, props)[1]).entries
    return site_changes.count_changes(s3, props, entries, previous, budget, Deadline(60))


def test_create_counts_every_file_added_without_reading_anything():
    s3 = MemoryS3({("b", "new.zip"): make_zip(NEW)})
    raw = raw_props(src("new.zip"))
    props = parse_props(raw)
    entries = planning.make_plan(props, read_sources(s3, props)[1]).entries
    s3.ranges.clear()
    got = site_changes.count_changes(s3, props, entries, site_changes.Previous("Create"), 5, Deadline(60))
    assert got == changes.Changes(added=tuple(sorted(NEW)))
    assert s3.ranges == []


def test_update_reads_the_previous_sources_directories_only():
    s3 = MemoryS3({("b", "old.zip"): make_zip(OLD), ("b", "new.zip"): make_zip(NEW)})
    got = count(s3, raw_props(src("new.zip")), site_changes.Previous("Update", raw_props(src("old.zip"))))
    assert got == changes.Changes(added=("new.txt",), changed=("index.html",), removed=("old/gone.txt",))


def test_a_previous_object_gone_gives_no_counts_and_says_why():
    s3 = MemoryS3({("b", "new.zip"): make_zip(NEW)})
    got = count(s3, raw_props(src("new.zip")), site_changes.Previous("Update", raw_props(src("old.zip"))))
    assert isinstance(got, changes.NotCounted)
    assert got.why == "the previous site cannot be read: cannot read source s3://b/old.zip: 404"


def test_unparseable_previous_properties_give_no_counts():
    s3 = MemoryS3({("b", "new.zip"): make_zip(NEW)})
    got = count(s3, raw_props(src("new.zip")), site_changes.Previous("Update", {"AppId": "d1"}))
    assert isinstance(got, changes.NotCounted) and got.why.startswith(
        "the previous properties cannot be parsed"
    )


def test_a_read_slower_than_the_bound_gives_no_counts():
    s3 = MemoryS3({("b", "old.zip"): make_zip(OLD), ("b", "new.zip"): make_zip(NEW)})
    props = parse_props(raw_props(src("new.zip")))
    entries = planning.make_plan(props, read_sources(s3, props)[1]).entries
    s3.block = threading.Event()  # every S3 call now hangs until released
    try:
        got = site_changes.count_changes(
            s3, props, entries, site_changes.Previous("Update", raw_props(src("old.zip"))), 0.05, Deadline(60)
        )
    finally:
        s3.block.set()
    assert got == changes.NotCounted("the previous site was not read within 0.05 s; the deployment went on")


def test_a_budget_of_zero_compares_nothing_on_update():
    s3 = MemoryS3({("b", "old.zip"): make_zip(OLD), ("b", "new.zip"): make_zip(NEW)})
    got = count(s3, raw_props(src("new.zip")), site_changes.Previous("Update", raw_props(src("old.zip"))), 0)
    assert isinstance(got, changes.NotCounted) and "0 s" in got.why


def test_a_bug_in_the_reads_gives_no_counts_instead_of_failing():
    def broken() -> changes.Outcome:
        raise KeyError("oops")

    got = site_changes.bounded(broken, 5)
    assert got == changes.NotCounted("internal error: KeyError: 'oops'")


# ---------------------------------------------------------------- PULL: directories only


def cd_start(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return int(zf.start_dir)


@pytest.mark.parametrize("n", [1, 3, 800])  # 800 files: a directory larger than the plan's 64 KiB read
def test_directory_only_reads_no_byte_before_the_central_directory(n):
    files = {f"d/{i:04}.html": f"content {i}" * 50 for i in range(n)}
    data = make_zip(files)
    s3 = MemoryS3({("b", "z.zip"): data})
    with site_changes.directory_only(s3, "b", "z.zip", len(data)) as zf:
        listed = {i.filename: (i.file_size, i.CRC) for i in zf.infolist()}
    with zipfile.ZipFile(io.BytesIO(data)) as real:
        assert listed == {i.filename: (i.file_size, i.CRC) for i in real.infolist()}
    assert len(s3.ranges) == 2
    assert min(start for _, start, _ in s3.ranges) >= cd_start(data)


def test_directory_only_reads_a_zip64_directory():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as zf:
        for i in range(70000):  # over 65535 entries: zip64 end records
            zf.writestr(f"{i}", b"")
    data = buf.getvalue()
    s3 = MemoryS3({("b", "z.zip"): data})
    with site_changes.directory_only(s3, "b", "z.zip", len(data)) as zf:
        assert len(zf.infolist()) == 70000
    assert len(s3.ranges) == 3
    assert min(start for _, start, _ in s3.ranges) >= cd_start(data)


def test_directory_only_refuses_a_zip_with_a_comment_and_a_non_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.html", "x")
        zf.comment = b"built by hand"
    for data in (buf.getvalue(), b"this is not a zip at all"):
        s3 = MemoryS3({("b", "z.zip"): data})
        with pytest.raises(SourceError, match="does not end with a zip end record"):
            site_changes.directory_only(s3, "b", "z.zip", len(data))


def test_pull_counts_from_directories_only():
    old_zip, new_zip = make_zip(OLD), make_zip(NEW)
    s3 = MemoryS3({("b", "old.zip"): old_zip, ("b", "new.zip"): new_zip})
    previous = site_changes.Previous("Update", raw_props(src("old.zip"), mode="PULL"))
    got = count(s3, raw_props(src("new.zip"), mode="PULL"), previous)
    assert got == changes.Changes(added=("new.txt",), changed=("index.html",), removed=("old/gone.txt",))
    starts = {"old.zip": cd_start(old_zip), "new.zip": cd_start(new_zip)}
    assert s3.ranges and all(start >= starts[key] for key, start, _ in s3.ranges)


def test_the_bound_comes_from_the_environment(monkeypatch):
    from amplify_deployment_handler import index

    monkeypatch.delenv("AMPLIFY_DEPLOYMENT_CHANGES_SECONDS", raising=False)
    assert index.settings_from_env().changes_budget_s == site_changes.CHANGES_BUDGET_S == 5.0
    for raw, expected in (("0.5", 0.5), ("0", 0.0), ("999", 60.0), ("soon", 5.0)):
        monkeypatch.setenv("AMPLIFY_DEPLOYMENT_CHANGES_SECONDS", raw)
        assert index.settings_from_env().changes_budget_s == expected
