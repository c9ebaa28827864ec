"""FILES mode under both alternatives of CreateDeployment's ``fileUploadUrls`` (docs/emulator.md, ledger
row U12; knob ``file_upload_urls``): one URL per fileMap key (``all``), or URLs only for the files
whose md5 the live deployment does not hold (``changed``). Either way the update deploys the whole
new site exactly: the handler uploads the files that have URLs, says how many Amplify already holds,
and the files the new site no longer has are gone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from amplify_deployment_handler.amplify import Amplify

ALTERNATIVES = ["all", "changed"]
V1 = {
    "index.html": "<h1>v1</h1>",
    "css/site.css": "body{color:red}",
    "js/app.js": "console.log(1)",
    "old/page.html": "<p>moved</p>",
    "gone.txt": "bye",
}
V2 = {
    "index.html": "<h1>v2</h1>",  # changed
    "css/site.css": "body{color:red}",  # unchanged
    "js/app.js": "console.log(2)",  # changed
    "new/page.html": "<p>moved</p>",  # renamed: the same bytes at a new path
    "added.txt": "hello",  # new
}  # gone.txt and old/page.html removed
CHANGED = {"index.html", "js/app.js", "added.txt"}


def upload_line(site: Any) -> dict[str, Any]:
    lines = [json.loads(r.getMessage()) for r in site.records if '"files_held_by_amplify"' in r.getMessage()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("urls", ALTERNATIVES)
def test_a_files_update_deploys_the_whole_new_site_exactly(site, sandbox, urls):
    sandbox.emulator.set_knobs(file_upload_urls=urls)
    resp = site.invoke("Create", site.props(site.source(site.put_zip(V1)), mode="FILES"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert upload_line(site) == {"stage": "upload", "files_to_upload": 5, "files_held_by_amplify": 0}
    accepted = sandbox.emulator.counters["uploads_accepted"]
    site.records.clear()

    physical = f"{site.app_id}/{site.branch}"
    resp = site.invoke(
        "Update", site.props(site.source(site.put_zip(V2)), mode="FILES"), physical_id=physical
    )
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert resp["Data"]["FileCount"] == "5"
    for name, body in V2.items():
        assert site.fetch(name) == (200, body.encode()), name
    assert site.fetch("gone.txt")[0] != 200 and site.fetch("old/page.html")[0] != 200
    sent = sandbox.emulator.counters["uploads_accepted"] - accepted
    line = upload_line(site)
    if urls == "all":
        assert sent == 5 and line["files_to_upload"] == 5 and line["files_held_by_amplify"] == 0
    else:  # only the changed and new files travelled; the unchanged and renamed ones were held
        assert sent == len(CHANGED) and line["files_to_upload"] == 3 and line["files_held_by_amplify"] == 2


@pytest.mark.parametrize("urls", ALTERNATIVES)
def test_an_unchanged_files_update_uploads_nothing_when_amplify_holds_everything(site, sandbox, urls):
    sandbox.emulator.set_knobs(file_upload_urls=urls)
    assert (
        site.invoke("Create", site.props(site.source(site.put_zip(V1)), mode="FILES"))["Status"] == "SUCCESS"
    )
    site.records.clear()
    accepted = sandbox.emulator.counters["uploads_accepted"]
    resp = site.invoke("Create", site.props(site.source(site.put_zip(V1)), mode="FILES"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert sandbox.emulator.counters["uploads_accepted"] - accepted == (5 if urls == "all" else 0)
    assert upload_line(site)["files_held_by_amplify"] == (0 if urls == "all" else 5)
    for name, body in V1.items():
        assert site.fetch(name) == (200, body.encode())


@pytest.mark.parametrize("urls", ALTERNATIVES)
def test_an_upload_url_for_a_key_not_in_the_file_map_fails_naming_the_key(site, sandbox, monkeypatch, urls):
    """Amplify's answer carries a URL for a key the fileMap does not have: nothing is uploaded, the job
    is stopped, the live site stays."""
    sandbox.emulator.set_knobs(file_upload_urls=urls)
    assert (
        site.invoke("Create", site.props(site.source(site.put_zip(V1)), mode="FILES"))["Status"] == "SUCCESS"
    )
    real_create = Amplify.create

    def create_with_a_stranger(self: Amplify, file_map: Any) -> Any:
        created = dict(real_create(self, file_map))
        some_url = next(iter(created["fileUploadUrls"].values()))
        created["fileUploadUrls"] = {**created["fileUploadUrls"], "stranger.js": some_url}
        return created

    monkeypatch.setattr(Amplify, "create", create_with_a_stranger)
    accepted = sandbox.emulator.counters["uploads_accepted"]
    resp = site.invoke("Create", site.props(site.source(site.put_zip(V2)), mode="FILES"))
    assert resp["Status"] == "FAILED"
    assert resp["Reason"].startswith(
        "CreateDeployment returned an upload URL for 'stranger.js', a key not in the fileMap; deploy again; "
        "job 2 stopped, the live site is unchanged"
    )
    assert sandbox.emulator.counters["uploads_accepted"] == accepted
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert site.fetch("index.html") == (200, b"<h1>v1</h1>")
