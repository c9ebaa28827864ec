"""Pure: zip entry validation, merging sources (later wins) and choosing direct stream vs merged zip."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from handler_support import make_zip

from amplify_deployment_handler.plan import (
    PlanError,
    check_zip_size,
    list_source,
    make_plan,
)
from amplify_deployment_handler.props import parse_props


def infos(files, compression=zipfile.ZIP_DEFLATED):
    return zipfile.ZipFile(io.BytesIO(make_zip(files, compression))).infolist()


def info(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name)
    zi.external_attr = mode << 16
    return zi


def props(n_sources=1, mode="ZIP", markers=False):
    src = {"BucketName": "b", "ObjectKey": "k"}
    if markers:
        src["Markers"] = {"<<m>>": "v"}
    return parse_props(
        {
            "AppId": "d1",
            "BranchName": "main",
            "UploadMode": mode,
            "Sources": [dict(src) for _ in range(n_sources)],
        }
    )


def test_listing_skips_folders_and_is_clean_for_a_plain_zip():
    listing = list_source(infos({"index.html": "x", "css/": "", "css/a.css": "y"}), 0, "Sources[0]")
    assert [e.path for e in listing.entries] == ["index.html", "css/a.css"]
    assert listing.clean


def test_dot_segments_are_normalised_but_make_the_zip_unclean():
    listing = list_source([info("./index.html"), info("a//b.txt")], 0, "S")
    assert [e.path for e in listing.entries] == ["index.html", "a/b.txt"]
    assert not listing.clean


@pytest.mark.parametrize(
    "name,fragment",
    [
        ("../evil.html", "contains '..'"),
        ("a/../../evil", "contains '..'"),
        ("/etc/passwd", "absolute path"),
        ("C:/x.txt", "absolute path"),
        ("a\\b.txt", "backslash"),
    ],
)
def test_unsafe_names_are_rejected(name, fragment):
    with pytest.raises(PlanError, match=fragment):
        list_source([info(name)], 0, "Sources[0]")


def test_colons_are_fine_outside_a_drive_prefix():
    listing = list_source([info("a:b.txt"), info("docs/c:/x.txt")], 0, "S")
    assert [e.path for e in listing.entries] == ["a:b.txt", "docs/c:/x.txt"]


def test_symlinks_are_rejected():
    with pytest.raises(PlanError, match="symbolic link"):
        list_source([info("link.html", stat.S_IFLNK | 0o777)], 0, "Sources[0]")


def test_encrypted_entries_are_rejected():
    zi = info("a.txt")
    zi.flag_bits |= 0x1
    with pytest.raises(PlanError, match="encrypted"):
        list_source([zi], 0, "Sources[0]")


def test_duplicate_names_in_one_source_are_rejected():
    with pytest.raises(PlanError, match="appears twice"):
        list_source([info("a.txt"), info("./a.txt")], 0, "Sources[0]")


def test_names_that_are_not_utf8_are_rejected():
    zi = info("x")
    zi.orig_filename = b"bad\xff.txt".decode("cp437")  # stored without the UTF-8 flag
    with pytest.raises(PlanError, match="not valid UTF-8"):
        list_source([zi], 0, "Sources[0]")


def test_utf8_names_without_the_flag_are_accepted_but_rewritten():
    zi = info("x")
    zi.orig_filename = "café.html".encode().decode("cp437")
    listing = list_source([zi], 0, "S")
    assert listing.entries[0].path == "café.html" and not listing.clean


def test_later_source_wins_and_entries_are_sorted():
    a = list_source(infos({"index.html": "v1", "a.txt": "a"}), 0, "S0")
    b = list_source(infos({"index.html": "v2"}), 1, "S1")
    plan = make_plan(props(2), [a, b])
    assert [(e.path, e.source_index) for e in plan.entries] == [("a.txt", 0), ("index.html", 1)]
    assert not plan.direct and plan.file_count == 2 and plan.byte_count == 3


def test_single_clean_source_without_markers_streams_directly():
    listing = list_source(infos({"index.html": "v1"}), 0, "S0")
    assert make_plan(props(1), [listing]).direct
    assert not make_plan(props(1, markers=True), [listing]).direct
    assert not make_plan(props(1, mode="FILES"), [listing]).direct


def test_a_path_cannot_be_file_and_folder():
    a = list_source(infos({"docs": "file"}), 0, "S0")
    b = list_source(infos({"docs/index.html": "x"}), 1, "S1")
    with pytest.raises(PlanError, match="both a file and a folder"):
        make_plan(props(2), [a, b])


def test_an_empty_site_is_rejected():
    with pytest.raises(PlanError, match="no files"):
        make_plan(props(1), [list_source(infos({"empty/": ""}), 0, "S0")])


def test_files_mode_rejects_paths_over_255_chars_zip_mode_does_not():
    listing = list_source(infos({"d/" + "x" * 260: "y", "index.html": "i"}), 0, "S0")
    with pytest.raises(PlanError, match="longer than 255"):
        make_plan(props(1, mode="FILES"), [listing])
    assert make_plan(props(1), [listing]).file_count == 2


def test_index_html_presence():
    assert make_plan(props(1), [list_source(infos({"index.html": "x"}), 0, "S")]).has_index_html
    assert not make_plan(props(1), [list_source(infos({"a/index.html": "x"}), 0, "S")]).has_index_html


def test_zip_mode_size_limit():
    # Amplify states "5GB": 5,000,000,000 bytes is the reading that holds whatever AWS means by it
    check_zip_size(5_000_000_000, "zip")
    with pytest.raises(
        PlanError, match=r"5,000,000,001 bytes; a ZIP deployment is at most 5 GB \(5,000,000,000"
    ):
        check_zip_size(5_000_000_001, "the merged site zip")
    with pytest.raises(PlanError, match="use UploadMode FILES"):
        check_zip_size(5 * 1024**3, "the source zip")


def reshaped(mode="ZIP", n_sources=1, exclude=(), include=(), prefix=None, markers=False):
    raw = props(n_sources, mode, markers)
    over = {"Exclude": list(exclude), "Include": list(include)}
    if prefix is not None:
        over["DestinationKeyPrefix"] = prefix
    src = [{"BucketName": "b", "ObjectKey": "k"}] * n_sources
    return parse_props(
        {"AppId": raw.app_id, "BranchName": "main", "UploadMode": mode, "Sources": src, **over}
    )


SITE_FILES = {
    "index.html": "home",
    "app.js": "js",
    "app.js.map": "map!",
    "drafts/a.html": "draft",
    "drafts/keep/b.html": "kept",
    "img/.DS_Store": "ds",
}


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_filters_and_prefix_shape_the_planned_site(mode):
    listing = list_source(infos(SITE_FILES), 0, "S0")
    plan = make_plan(
        reshaped(mode, exclude=["*.map", "drafts/*", "*.DS_Store"], include=["drafts/keep/*"], prefix="docs"),
        [listing],
    )
    assert [e.path for e in plan.entries] == [
        "docs/app.js",
        "docs/drafts/keep/b.html",
        "docs/index.html",
    ]
    # FileCount/ByteCount count the deployed files only.
    assert plan.file_count == 3 and plan.byte_count == len("js") + len("kept") + len("home")
    assert not plan.direct
    # The entries still point at the source's records (their stored names), for reading the bytes.
    assert {e.info.filename for e in plan.entries} == {"app.js", "drafts/keep/b.html", "index.html"}


def test_a_filter_that_removes_a_file_or_a_prefix_rebuilds_the_zip():
    listing = list_source(infos(SITE_FILES), 0, "S0")
    assert make_plan(reshaped(), [listing]).direct
    # A filter that matches nothing leaves the source zip as the site: still streamed as it is.
    assert make_plan(reshaped(exclude=["*.exe"]), [listing]).direct
    assert make_plan(reshaped(exclude=["*"], include=["*"]), [listing]).direct
    assert not make_plan(reshaped(exclude=["*.map"]), [listing]).direct
    assert not make_plan(reshaped(prefix="docs/"), [listing]).direct


def test_choose_mode_follows_the_plan(monkeypatch):
    from amplify_deployment_handler.upload_modes import Files, Site, ZipDirect, ZipMerged, choose_mode

    listing = list_source(infos(SITE_FILES), 0, "S0")

    def mode_for(p):
        return type(choose_mode(Site(None, p, [], make_plan(p, [listing]), None, None)))

    assert mode_for(reshaped()) is ZipDirect
    assert mode_for(reshaped(exclude=["*.map"])) is ZipMerged
    assert mode_for(reshaped(prefix="docs")) is ZipMerged
    assert mode_for(reshaped("FILES", exclude=["*.map"], prefix="docs")) is Files


def test_filters_apply_to_the_merged_site_after_a_later_source_won():
    a = list_source(infos({"index.html": "old", "keep.txt": "k", "x.map": "m1"}), 0, "S0")
    b = list_source(infos({"index.html": "new", "y.map": "m2"}), 1, "S1")
    plan = make_plan(reshaped(n_sources=2, exclude=["*.map"], prefix="v2"), [a, b])
    assert [(e.path, e.source_index) for e in plan.entries] == [("v2/index.html", 1), ("v2/keep.txt", 0)]


def test_a_clash_removed_by_a_filter_is_no_clash():
    a = list_source(infos({"docs": "file"}), 0, "S0")
    b = list_source(infos({"docs/index.html": "x"}), 1, "S1")
    plan = make_plan(reshaped(n_sources=2, exclude=["docs"]), [a, b])
    assert [e.path for e in plan.entries] == ["docs/index.html"]


def test_filters_that_leave_nothing_say_so():
    listing = list_source(infos({"index.html": "x"}), 0, "S0")
    with pytest.raises(PlanError, match="the Exclude/Include filters left none"):
        make_plan(reshaped(exclude=["*"]), [listing])


def test_files_mode_counts_the_prefix_in_the_255_limit():
    name = "p" * 250
    listing = list_source(infos({name: "x"}), 0, "S0")
    assert make_plan(reshaped("FILES", prefix="abcd"), [listing]).file_count == 1  # 255 exactly
    with pytest.raises(PlanError, match="longer than 255"):
        make_plan(reshaped("FILES", prefix="abcde"), [listing])
    # ZIP mode has no such limit.
    assert make_plan(reshaped(prefix="abcde"), [listing]).entries[0].path == "abcde/" + name
