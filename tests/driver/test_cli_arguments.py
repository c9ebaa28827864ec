"""`amplify-sandbox deploy` and `diff` refuse a folder without cdk.json and a malformed `-c` before
anything starts: exit 2, one line naming what is wrong, no traceback, no sandbox state written."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "amplify-sandbox"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["deploy", "diff"])
def test_a_folder_without_cdk_json_is_refused(tmp_path, command):
    result = _run(command, str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == f"error: {tmp_path.resolve()} has no cdk.json (pass the CDK app's folder)"
    assert not (tmp_path / ".amplify-sandbox").exists()


@pytest.mark.parametrize("command", ["deploy", "diff"])
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("stage", "error: -c needs key=value, got 'stage'"),
        ("aws:region=x", "error: -c aws:region: context keys prefixed with 'aws:' are reserved for the CDK"),
    ],
)
def test_a_malformed_context_option_is_refused(tmp_path, command, option, message):
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    result = _run(command, str(tmp_path), "-c", option)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".amplify-sandbox").exists()
