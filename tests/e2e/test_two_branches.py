"""One stack, two branches of one Amplify app: main in ZIP mode, feature/preview in FILES mode."""

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack

from .site_checks import assert_served, fetch, site_files

STACK = "TwoBranches"


def test_two_branches_zip_and_files_modes(two_branches_app):
    app = two_branches_app
    with Sandbox(state_dir=app / ".amplify-sandbox" / "emulator") as sb:

        def driver():
            return LocalStack(app, sb, log=lambda _line: None)

        created = driver().deploy()
        assert created.ok, created.stacks[0].reason
        modes = {r.logical_id: r.resource_properties["UploadMode"] for r in created.requests}
        assert sorted(modes.values()) == ["FILES", "ZIP"]
        assert all(r.request_type == "Create" and r.status == "SUCCESS" for r in created.requests)
        urls = {branch: url for _app, branch, url in driver().site_urls(created)}
        assert set(urls) == {"main", "feature/preview"}
        app_id = created.branches[0][0]
        assert_served(urls["main"], site_files(app / "site_main"))
        assert_served(urls["feature/preview"], site_files(app / "site_preview"))
        assert (
            fetch(urls["feature/preview"] + "build.txt") == f"app {app_id}, branch feature/preview".encode()
        )
        assert fetch(urls["main"] + "build.txt") is None
        assert created.outputs["PreviewUrl"] == f"https://feature-preview.{app_id}.amplifyapp.com"

        # change the preview only: only its custom resource gets an Update
        (app / "site_preview" / "index.html").write_text("<h1>Preview, second cut</h1>\n")
        updated = driver().deploy()
        assert updated.ok, updated.stacks[0].reason
        (update,) = updated.requests
        assert update.request_type == "Update" and update.resource_properties["UploadMode"] == "FILES"
        assert update.physical_resource_id == f"{app_id}/feature/preview"
        assert_served(urls["feature/preview"], site_files(app / "site_preview"))
        assert_served(urls["main"], site_files(app / "site_main"))

        # a failed FILES job: FAILED, rolled back, the previous preview still served
        preview_before = site_files(app / "site_preview")
        sb.emulator.knobs.fail_next_jobs = 1
        (app / "site_preview" / "index.html").write_text("<h1>Preview, broken cut</h1>\n")
        failed = driver().deploy()
        assert not failed.ok and failed.stack(STACK).status == "UPDATE_ROLLBACK_COMPLETE"
        assert "Injected failure" in failed.requests[0].reason
        assert_served(urls["feature/preview"], preview_before)

        destroyed = driver().destroy()
        assert destroyed.ok
        assert sorted((r.request_type, r.status) for r in destroyed.requests) == [("Delete", "SUCCESS")] * 2
