"""The README's flow with the example app, through the command line, one process per step:
deploy --once; edit site/; deploy (serving) -> the new content is served; Ctrl-C/SIGTERM; destroy."""

import json
import os
import signal
import subprocess
import sys

from .site_checks import assert_served, fetch, site_files

CLI = [sys.executable, "-m", "amplify_sandbox"]


def _env():
    return dict(os.environ, PYTHONUNBUFFERED="1", JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")


def test_deploy_edit_redeploy_serve_destroy(example_app):
    first = subprocess.run(
        [*CLI, "deploy", "--once", str(example_app)], capture_output=True, text=True, env=_env(), timeout=600
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "AmplifyDeploymentExample: CREATE_COMPLETE" in first.stdout
    assert "X-Amz-Signature" not in first.stdout + first.stderr

    index = example_app / "site" / "index.html"
    index.write_text(index.read_text().replace("It works.", "It works, edited."))

    proc = subprocess.Popen(
        [*CLI, "deploy", str(example_app)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("Serving"):
                break
        output = "".join(seen)
        assert "AmplifyDeploymentExample: UPDATE_COMPLETE" in output, output[-3000:]
        assert "Custom::AmplifyDeployment) Update: invoking" in output
        (site_line,) = [line for line in seen if line.startswith("Site: ")]
        url = site_line.split()[1]
        assert_served(url, site_files(example_app / "site"))
        assert b"It works, edited." in fetch(url + "index.html")
        assert json.loads(fetch(url + "config.json"))["stackName"] == "AmplifyDeploymentExample"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

    destroyed = subprocess.run(
        [*CLI, "destroy", str(example_app)], capture_output=True, text=True, env=_env(), timeout=600
    )
    assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]
    assert "Custom::AmplifyDeployment) Delete: invoking" in destroyed.stdout
    assert "AmplifyDeploymentExample: DELETE_COMPLETE" in destroyed.stdout
