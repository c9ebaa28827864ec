"""Branches that come and go, per-branch content, every kind of source, filters and a prefix, and a
create that meets an existing branch name: through the local driver, on one app
(apps/branches_and_sources) deployed three times (each deploy costs a synth, so one deployment proves
several things at once):

1. ``main``, previews ``a`` and ``b`` (each its own content) and ``kitchen`` (every source kind,
   exclude/include, a prefix);
2. previews ``b`` only: ``a`` is deleted, ``b`` and ``main`` are untouched;
3. previews ``b`` and ``c`` plus a second branch resource named ``b``: it fails AlreadyExists, the
   stack rolls back, ``b`` is untouched and ``c`` is gone again.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack
from amplify_sandbox.driver.cli import site_lines

from .conftest import APPS
from .site_checks import assert_served, copy_files, fetch, site_files

STACK = "BranchesAndSources"
EXISTING_BUCKET, EXISTING_KEY = "e2e-existing-content", "vendor/vendor.zip"  # as in the app
FILES = ["app.py", "cdk.json", "site_main", "site_a", "site_b", "site_c", "kitchen"]


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


BUNDLE = {
    "zipped/readme.txt": b"from a .zip file asset\n",
    "zipped/lib.js": b"lib()\n",
    "zipped/lib.js.map": b"{}",
}
VENDOR = {"vendor/lib.js": b"vendor()\n", "vendor/lib.js.map": b"{}", "vendor/.DS_Store": b"x"}


def live_paths(backend, app_id: str, branch_name: str) -> list[str]:
    """Sorted paths of the branch's live deployment: the FILES job's names, or the ZIP job's entries."""
    _app, branch = backend.get_branch(app_id, branch_name)
    if branch.live_job_id is None:
        return []
    job = branch.jobs[branch.live_job_id]
    if job.mode == "FILES":
        return sorted(name.lstrip("/") for name in job.names)
    with zipfile.ZipFile(backend.job_dir(app_id, branch_name, job.job_id) / "site.zip") as zf:
        return sorted(i.filename for i in zf.infolist() if not i.is_dir())


def live_job(backend, app_id: str, branch_name: str) -> int | None:
    return backend.get_branch(app_id, branch_name)[1].live_job_id


def set_context(app: Path, **context) -> None:
    path = app / "cdk.json"
    settings = json.loads(path.read_text())
    settings["context"].update(context)
    path.write_text(json.dumps(settings, indent=2))


class Run:
    """The app folder, its sandbox, and what each deploy left (module-scoped: three deploys in all)."""

    def __init__(self, app: Path, sb: Sandbox) -> None:
        self.app, self.sb = app, sb
        self.lines: list[str] = []

    def deploy(self):
        self.lines = []
        driver = LocalStack(self.app, self.sb, log=self.lines.append)
        result = driver.deploy()
        return result, driver.site_urls(result)

    @property
    def backend(self):
        return self.sb.emulator.backend


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    app = copy_files(APPS / "branches_and_sources", tmp_path_factory.mktemp("e2e") / "app", FILES)
    (app / "bundle.zip").write_bytes(_zip(BUNDLE))
    with Sandbox(state_dir=app / ".amplify-sandbox" / "emulator") as sb:
        # a zip already in a bucket, put there before the deploy (as another pipeline would)
        s3 = sb.client("s3")
        s3.create_bucket(Bucket=EXISTING_BUCKET)
        s3.put_object(Bucket=EXISTING_BUCKET, Key=EXISTING_KEY, Body=_zip(VENDOR))
        yield Run(app, sb)


@pytest.fixture(scope="module")
def first(run):
    result, sites = run.deploy()
    assert result.ok, result.stacks[0].reason + "\n" + "\n".join(run.lines[-40:])
    urls = {branch: url for _app, branch, url in sites}
    app_id = result.branches[0][0]
    jobs = {b: live_job(run.backend, app_id, b) for b in urls}
    return {"result": result, "urls": urls, "app_id": app_id, "jobs": jobs}


@pytest.fixture(scope="module")
def second(run, first):
    set_context(run.app, previews="b")
    result, sites = run.deploy()
    assert result.ok, result.stacks[0].reason
    return {"result": result, "sites": sites, "lines": list(run.lines)}


@pytest.fixture(scope="module")
def third(run, second):
    set_context(run.app, previews="b,c", twin=True)
    result, sites = run.deploy()
    return {"result": result, "sites": sites, "lines": list(run.lines)}


def test_every_source_kind_filtered_and_prefixed_deploys_exactly_the_expected_files(run, first):
    app_id = first["app_id"]
    assert live_paths(run.backend, app_id, "kitchen") == sorted(
        f"docs/v1/{p}"
        for p in [
            "index.html",  # the folder asset
            "app.js",
            "drafts/keep.html",  # excluded by drafts/*, included again
            "zipped/readme.txt",  # the .zip file asset
            "zipped/lib.js",
            "vendor/lib.js",  # the zip already in a bucket (Source.bucket)
            "config.yaml",  # Source.yaml_data, with a deploy-time value
        ]
    )
    url = first["urls"]["kitchen"] + "docs/v1/"
    kitchen = run.app / "kitchen"
    assert_served(url, {p: (kitchen / p).read_bytes() for p in ["index.html", "app.js", "drafts/keep.html"]})
    assert_served(url, {k: v for k, v in {**BUNDLE, **VENDOR}.items() if k.endswith((".txt", "lib.js"))})
    # CDK's yaml_data quotes the deploy-time value; the handler substitutes it
    assert fetch(url + "config.yaml") == f'appId: "{app_id}"\nbranch: kitchen\n'.encode()
    assert fetch(url + "app.js.map") is None and fetch(first["urls"]["kitchen"] + "index.html") is None
    assert first["result"].outputs["KitchenJob"] == str(first["jobs"]["kitchen"])


def test_each_branch_serves_its_own_content(run, first):
    urls = first["urls"]
    assert set(urls) == {"main", "a", "b", "kitchen"}
    for branch in ("main", "a", "b"):
        assert_served(urls[branch], site_files(run.app / f"site_{branch}"))
        assert sorted(live_paths(run.backend, first["app_id"], branch)) == sorted(
            site_files(run.app / f"site_{branch}")
        )
    assert fetch(urls["a"] + "b.txt") is None and fetch(urls["main"] + "a.txt") is None
    amplify = run.sb.client("amplify")
    stages = {b: amplify.get_branch(appId=first["app_id"], branchName=b)["branch"].get("stage") for b in urls}
    assert stages == {"main": "NONE", "a": "DEVELOPMENT", "b": "DEVELOPMENT", "kitchen": "NONE"}


def test_removing_a_preview_deletes_it_alone(run, first, second):
    app_id, result = first["app_id"], second["result"]
    # a is gone: its deployment got a Delete (content stays, as Amplify cannot un-deploy), its branch
    # a DeleteBranch; nothing else was sent
    assert [(r.request_type, r.physical_resource_id) for r in result.requests] == [("Delete", f"{app_id}/a")]
    assert not run.backend.has_branch(app_id, "a")
    assert sorted(b for _a, b in result.branches) == ["b", "kitchen", "main"]
    assert not any("https://a." in str(v) for v in result.outputs.values())
    assert any(v == f"https://b.{app_id}.amplifyapp.com" for v in result.outputs.values())
    # b (and main, kitchen) keep their job and content
    for branch in ("main", "b", "kitchen"):
        assert live_job(run.backend, app_id, branch) == first["jobs"][branch]
    urls = {branch: url for _app, branch, url in second["sites"]}
    assert urls["b"] == first["urls"]["b"]
    assert_served(urls["b"], site_files(run.app / "site_b"))
    assert_served(urls["main"], site_files(run.app / "site_main"))
    # the Site: lines of `amplify-sandbox deploy` say which app and branch each URL serves
    assert site_lines(run.sb, second["sites"]) == [
        f"Site: {url}  (app branches-and-sources {app_id}, branch {branch})"
        for _a, branch, url in second["sites"]
    ]


def test_a_create_that_meets_an_existing_branch_name_fails_and_rolls_back(run, first, second, third):
    app_id, result = first["app_id"], third["result"]
    stack = result.stack(STACK)
    assert stack.status == "UPDATE_ROLLBACK_COMPLETE"
    stack_id = json.loads((run.app / ".amplify-sandbox" / "stacks" / f"{STACK}.json").read_text())["stackId"]
    assert stack.reason.startswith(
        f"Twin: b already exists in stack {stack_id} (branch of app {app_id}, held by"
    )
    assert any(e.logical_id == "Twin" and e.status == "CREATE_FAILED" for e in stack.events)
    # b untouched: same job, same content; c (created in this run, or never reached) is gone
    assert live_job(run.backend, app_id, "b") == first["jobs"]["b"]
    assert_served(first["urls"]["b"], site_files(run.app / "site_b"))
    assert not run.backend.has_branch(app_id, "c")
    assert not any(
        r.request_type == "Delete" and r.physical_resource_id == f"{app_id}/b" for r in result.requests
    )
    # the stack is as the second deploy left it
    assert result.outputs == second["result"].outputs
    assert sorted(b for _a, b in result.branches) == ["b", "kitchen", "main"]
