"""Exclude/Include filters and a destination key prefix through the handler, against the emulator and
moto S3: the branch's live deployment holds exactly the expected files, in ZIP and FILES mode."""

from __future__ import annotations

import pytest
from live_content import live_paths

SOURCE_ONE = {
    "index.html": "<h1>home</h1>",
    "js/app.js": "app()",
    "js/app.js.map": "{map}",
    "drafts/post.html": "draft",
    "drafts/keep/ok.html": "kept draft",
    ".DS_Store": "finder",
    "img/.DS_Store": "finder",
}
SOURCE_TWO = {"index.html": "<h1>home v2</h1>", "js/vendor.js.map": "{vendor map}", "notes.md": "n"}
FILTERS = {
    "Exclude": ["*.map", "drafts/*", "*.DS_Store", "*.md"],
    "Include": ["drafts/keep/*"],
    "DestinationKeyPrefix": "docs",
}
EXPECTED = {
    "docs/drafts/keep/ok.html": b"kept draft",
    "docs/index.html": b"<h1>home v2</h1>",
    "docs/js/app.js": b"app()",
}


def live(site):
    return live_paths(site.sb.emulator.backend, site.app_id, site.branch)


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_filters_and_prefix_deploy_exactly_the_expected_files(site, mode):
    sources = [site.source(site.put_zip(SOURCE_ONE)), site.source(site.put_zip(SOURCE_TWO))]
    resp = site.invoke("Create", site.props(*sources, mode=mode, **FILTERS))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert live(site) == sorted(EXPECTED)
    assert resp["Data"]["FileCount"] == str(len(EXPECTED))
    assert resp["Data"]["ByteCount"] == str(sum(len(v) for v in EXPECTED.values()))
    for path, body in EXPECTED.items():
        assert site.fetch("/" + path) == (200, body)
    assert site.fetch("/index.html")[0] != 200  # nothing at the root: the site is under docs/
    assert ('"mode":"ZIP merged"' if mode == "ZIP" else '"mode":"FILES"') in site.log_text


def test_a_single_zip_with_filters_is_rebuilt_not_streamed(site):
    key = site.put_zip(SOURCE_ONE)
    resp = site.invoke("Create", site.props(site.source(key), Exclude=["*.map", "*.DS_Store"]))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert '"mode":"ZIP merged"' in site.log_text
    assert live(site) == ["drafts/keep/ok.html", "drafts/post.html", "index.html", "js/app.js"]


def test_a_single_zip_with_a_prefix_only_is_rebuilt_with_markers(site):
    key = site.put_zip({"index.html": "hello <<m>>", "a/b.txt": "b"})
    resp = site.invoke(
        "Create", site.props(site.source(key, markers={"<<m>>": "world"}), DestinationKeyPrefix="v1/")
    )
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert live(site) == ["v1/a/b.txt", "v1/index.html"]
    assert site.fetch("/v1/") == (200, b"hello world")
