"""The files a deployment adds, changes and removes, end to end: the handler invoked as Lambda does
(CloudFormation Update events with OldResourceProperties) against the Amplify emulator and moto S3
on 127.0.0.1; the counts in the response's Data and the one `changes` log line."""

from __future__ import annotations

import json
import threading

import pytest
from handler_support import assert_no_secrets

from amplify_deployment_handler import index

V1 = {"index.html": "<h1>v1</h1>", "about.html": "about", "old/gone.txt": "bye", "css/site.css": "body{}"}
V2 = {"index.html": "<h1>v2!</h1>", "about.html": "about", "new.txt": "hi", "css/site.css": "body{}"}


def changes_line(site) -> dict:
    found = [
        json.loads(r.getMessage())
        for r in site.records
        if r.name == "amplify_deployment_handler" and r.getMessage().startswith('{"stage":"changes"')
    ]
    assert len(found) == 1, found
    return found[0]


def counts(resp) -> tuple[str, str, str]:
    return resp["Data"]["FilesAdded"], resp["Data"]["FilesChanged"], resp["Data"]["FilesRemoved"]


def create_then_update(site, old_sources, new_sources, mode="ZIP", **over):
    old = site.props(*old_sources, mode=mode, **over)
    first = site.invoke("Create", old)
    assert first["Status"] == "SUCCESS", first["Reason"]
    site.records.clear()
    new = site.props(*new_sources, mode=mode)
    return site.invoke("Update", new, physical_id=first["PhysicalResourceId"], old_props=old)


@pytest.mark.parametrize("mode", ["ZIP", "FILES", "PULL"])
def test_an_update_counts_added_changed_and_removed_files(site, mode):
    old_key, new_key = site.put_zip(V1), site.put_zip(V2)
    resp = create_then_update(site, [site.source(old_key)], [site.source(new_key)], mode)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("1", "1", "1")
    line = changes_line(site)
    assert (line["added"], line["changed"], line["removed"]) == (1, 1, 1)
    assert line["added_paths"] == ["new.txt"]
    assert line["changed_paths"] == ["index.html"]
    assert line["removed_paths"] == ["old/gone.txt"]
    assert line["compared_with"] == "the previous properties"
    assert site.fetch("/new.txt") == (200, b"hi")
    assert_no_secrets(site, resp)


def test_a_create_adds_every_file(site):
    resp = site.invoke("Create", site.props(site.source(site.put_zip(V1)), mode="FILES"))
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("4", "0", "0")
    assert changes_line(site)["compared_with"] == "nothing (Create)"


def test_an_update_under_other_filters_and_prefix_compares_the_deployed_paths(site):
    key = site.put_zip(V1)
    first = site.invoke("Create", site.props(site.source(key), Exclude=["old/*"]))
    assert first["Status"] == "SUCCESS", first["Reason"]
    site.records.clear()
    resp = site.invoke(
        "Update",
        site.props(site.source(key), Exclude=["old/*", "about.html"]),
        physical_id=first["PhysicalResourceId"],
        old_props=site.props(site.source(key), Exclude=["old/*"]),
    )
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("0", "0", "1")
    assert changes_line(site)["removed_paths"] == ["about.html"]


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
def test_a_changed_deploy_time_value_changes_its_file_while_the_files_did_not(site, mode):
    site_key = site.put_zip(V1)
    config_key = site.put_zip({"config.json": '{"table":"<<marker:0xbaba:0>>"}'})
    old = [site.source(site_key), site.source(config_key, {"<<marker:0xbaba:0>>": "table-1"})]
    new = [site.source(site_key), site.source(config_key, {"<<marker:0xbaba:0>>": "table-2"})]
    resp = create_then_update(site, old, new, mode)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("0", "1", "0")
    assert changes_line(site)["changed_paths"] == ["config.json"]
    assert site.fetch("/config.json") == (200, b'{"table":"table-2"}')


def test_the_same_properties_again_change_nothing(site):
    key = site.put_zip(V1)
    resp = create_then_update(site, [site.source(key)], [site.source(key)])
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("0", "0", "0")
    line = changes_line(site)
    assert "added_paths" not in line and "changed_paths" not in line and "removed_paths" not in line


@pytest.mark.parametrize("mode", ["ZIP", "FILES", "PULL"])
def test_a_previous_asset_deleted_from_the_bucket_gives_no_counts_and_the_deployment_goes_on(site, mode):
    old_key, new_key = site.put_zip(V1), site.put_zip(V2)
    old = site.props(site.source(old_key), mode=mode)
    first = site.invoke("Create", old)
    assert first["Status"] == "SUCCESS", first["Reason"]
    site.s3.delete_object(Bucket=site.bucket, Key=old_key)  # garbage-collected, as cdk gc does
    site.records.clear()
    resp = site.invoke(
        "Update",
        site.props(site.source(new_key), mode=mode),
        physical_id=first["PhysicalResourceId"],
        old_props=old,
    )
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("", "", "")
    line = changes_line(site)
    assert line["counted"] is False
    assert (
        line["why"]
        == f"the previous site cannot be read: cannot read source s3://{site.bucket}/{old_key}: 404"
    )
    assert site.fetch("/") == (200, b"<h1>v2!</h1>")


def test_a_previous_source_in_another_bucket_gives_no_counts(site):
    new_key = site.put_zip(V2)
    old = site.props({"BucketName": "someone-elses-bucket", "ObjectKey": "site.zip"})
    resp = site.invoke("Update", site.props(site.source(new_key)), physical_id="x", old_props=old)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("", "", "")
    assert "s3://someone-elses-bucket/site.zip" in changes_line(site)["why"]


def test_unparseable_previous_properties_give_no_counts(site):
    resp = site.invoke("Update", site.props(site.source(site.put_zip(V2))), physical_id="x", old_props={})
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("", "", "")
    assert changes_line(site)["why"].startswith(
        "the previous properties cannot be parsed (AppId is required)"
    )


def test_a_previous_read_that_hangs_is_given_up_after_the_bound(site, handler_env, monkeypatch):
    """The previous object's HeadObject hangs until the test ends: the deployment goes on once the
    bound (here 0.3 s) has passed and says why it has no counts."""
    handler_env(AMPLIFY_DEPLOYMENT_CHANGES_SECONDS="0.3")
    old_key, new_key = site.put_zip(V1), site.put_zip(V2)
    release = threading.Event()
    hung: list[str] = []
    real = index._clients

    def hang_on_the_previous_object(params, **kw):
        if params.get("Key") == old_key:
            hung.append(params["Key"])
            release.wait(60)

    def clients(workers):
        s3, *rest = real(workers)
        s3.meta.events.register("before-parameter-build.s3.*", hang_on_the_previous_object)
        return (s3, *rest)

    monkeypatch.setattr(index, "_clients", clients)
    try:
        resp = site.invoke(
            "Update",
            site.props(site.source(new_key)),
            physical_id=f"{site.app_id}/{site.branch}",
            old_props=site.props(site.source(old_key)),
        )
    finally:
        release.set()
    assert hung[0] == old_key  # the read was under way (more may follow once released)
    assert resp["Status"] == "SUCCESS", resp["Reason"]
    assert counts(resp) == ("", "", "")
    line = changes_line(site)
    assert line["why"] == "the previous site was not read within 0.3 s; the deployment went on"
    assert site.fetch("/") == (200, b"<h1>v2!</h1>")
