"""Upload PUTs that keep failing - a dropped connection or a stalled socket on every attempt (HTTP
500 is in tests/handler/test_handler_integration.py): the deployment stops before StartDeployment,
the created job is stopped, the live site is unchanged and the reason names the file. Retry pauses
are shortened (fast_uploads); attempts, the socket timeout's role and the flow are the real ones."""

from __future__ import annotations

import pytest
from reliability_support import assert_no_secrets, assert_reason

pytestmark = pytest.mark.usefixtures("fast_uploads")


@pytest.mark.parametrize("mode", ["ZIP", "FILES"])
@pytest.mark.parametrize("fault", ["drop", "stall"])
def test_an_upload_that_keeps_failing_stops_the_job_and_names_the_file(site, sandbox, mode, fault):
    site.deploy_live({"index.html": "live"})
    if fault == "drop":
        sandbox.emulator.set_knobs(drop_next_uploads=50)
    else:
        sandbox.emulator.set_knobs(stall_next_uploads=50, stall_seconds=4)  # > the 2 s socket timeout
    key = site.put_zip({"index.html": "never" * 1000})
    resp = site.invoke("Update", site.props(site.source(key), mode=mode), physical_id=f"{site.app_id}/main")
    what = "the site zip" if mode == "ZIP" else "index.html"
    assert_reason(resp, f"upload of {what} failed after 3 attempts (")
    assert ("(timed out)" in resp["Reason"]) == (fault == "stall")  # a drop names the connection error
    assert resp["Reason"].endswith("job 2 stopped, the live site is unchanged")
    injected = {"drop": "upload_dropped", "stall": "upload_stalled"}[fault]
    assert sandbox.emulator.counters["injected"][injected] == 3
    assert site.job("2")["summary"]["status"] == "CANCELLED"
    assert sandbox.emulator.counters["requests"].get("StartDeployment", 0) == 1  # only the live one's
    assert site.fetch("/") == (200, b"live")
    assert_no_secrets(site.log_text + str(resp))
