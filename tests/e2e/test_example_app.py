"""The README's example app (app.py) through the local stack driver: create, update, a failed job,
destroy - the construct, the handler and the emulator together, with nothing faked in between."""

import json

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack

from .site_checks import assert_served, fetch, site_files

STACK = "AmplifyDeploymentExample"


def test_example_app_create_update_failed_job_destroy(example_app):
    lines: list[str] = []
    with Sandbox(state_dir=example_app / ".amplify-sandbox" / "emulator") as sb:

        def driver():
            return LocalStack(example_app, sb, log=lines.append)

        # create: the site folder byte for byte, plus config.json with the deploy-time values
        created = driver().deploy()
        assert created.ok, created.stacks[0].reason
        (create,) = created.requests
        assert create.request_type == "Create" and create.status == "SUCCESS"
        ((app_id, branch, url),) = driver().site_urls(created)
        assert branch == "main" and url.startswith("http://127.0.0.1:")
        v1 = site_files(example_app / "site")
        assert_served(url, v1)
        assert json.loads(fetch(url + "config.json")) == {
            "appId": app_id,
            "branch": "main",
            "region": "us-east-1",
            "stackName": STACK,
        }
        assert create.response_physical_id == f"{app_id}/main"
        assert created.outputs["BranchUrl"] == f"https://main.{app_id}.amplifyapp.com"
        first_job = created.outputs["JobId"]

        # update: a content change sends Update; the new content is served
        index = example_app / "site" / "index.html"
        index.write_text(index.read_text().replace("It works.", "It still works, version 2."))
        updated = driver().deploy()
        assert updated.ok, updated.stacks[0].reason
        (update,) = updated.requests
        assert update.request_type == "Update" and update.physical_resource_id == f"{app_id}/main"
        assert update.old_resource_properties["Sources"] != update.resource_properties["Sources"]
        v2 = site_files(example_app / "site")
        assert_served(url, v2)
        assert updated.outputs["JobId"] != first_job

        # unchanged: nothing is sent
        unchanged = driver().deploy()
        assert unchanged.ok and unchanged.requests == []

        # a job the emulator fails: the update FAILS with a readable reason, the old content stays live
        sb.emulator.knobs.fail_next_jobs = 1
        index.write_text(index.read_text().replace("version 2", "version 3"))
        failed = driver().deploy()
        stack = failed.stack(STACK)
        assert not failed.ok and stack.status == "UPDATE_ROLLBACK_COMPLETE"
        failed_update = failed.requests[0]
        assert failed_update.request_type == "Update" and failed_update.status == "FAILED"
        assert "Injected failure" in failed_update.reason, failed_update.reason
        assert len(failed_update.reason) <= 1000
        assert "Injected failure" in stack.reason
        assert_served(url, v2)  # not version 3
        rollback = failed.requests[1]
        assert rollback.rollback and rollback.request_type == "Update"
        assert rollback.resource_properties == update.resource_properties
        assert f"{STACK}: UPDATE_ROLLBACK_COMPLETE" in lines

        # destroy: Delete answers SUCCESS
        destroyed = driver().destroy()
        assert destroyed.ok
        (delete,) = destroyed.requests
        assert delete.request_type == "Delete" and delete.status == "SUCCESS"
        assert delete.physical_resource_id == f"{app_id}/main"

    printed = "\n".join(lines)
    assert "X-Amz-Signature" not in printed  # neither the ResponseURL nor an upload URL was printed
