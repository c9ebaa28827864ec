"""`amplify-sandbox` installed without its `sandbox` extra: one line saying what to install, exit 2,
no traceback. The extra's packages are hidden from a real subprocess by a sitecustomize that puts an
import blocker first on sys.meta_path (as if they were not installed)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HINT = "pip install 'cdk-amplify-deployment[sandbox]'"
SCRIPT = Path(sys.executable).parent / "amplify-sandbox"

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    HIDDEN = {hidden!r}

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == h or name.startswith(h + ".") for h in HIDDEN):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    """
)


def _run(tmp_path, hidden, command, *args):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(hidden=tuple(hidden)))
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=120)


def _assert_hint(result, *missing):
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and HINT in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for name in missing:
        assert name in lines[0]


@pytest.mark.parametrize(
    "command",
    [[str(SCRIPT)], [sys.executable, "-m", "amplify_sandbox"]],
    ids=["console-script", "python-m"],
)
@pytest.mark.parametrize("sub", [["deploy", "--once"], ["destroy"], ["emulator"]], ids=lambda s: s[0])
def test_without_the_extra_each_command_says_what_to_install(tmp_path, command, sub):
    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    args = [*sub, str(tmp_path)] if sub[0] != "emulator" else sub
    result = _run(tmp_path, ["moto", "boto3", "botocore", "cryptography"], command, *args)
    _assert_hint(result, "moto", "boto3", "cryptography")
    assert not (tmp_path / ".amplify-sandbox").exists()  # refused before touching anything


def test_a_part_of_the_extra_that_fails_to_load_later_says_the_same(tmp_path):
    # moto is there, but its server part (moto[server]) is not: found by find_spec, fails on use
    result = _run(
        tmp_path, ["moto.server"], [sys.executable, "-m", "amplify_sandbox"], "emulator", "--port", "0"
    )
    _assert_hint(result, "moto")


def test_help_needs_no_extra(tmp_path):
    result = _run(tmp_path, ["moto", "boto3", "cryptography"], [str(SCRIPT)], "--help")
    assert result.returncode == 0 and "deploy" in result.stdout


def test_with_the_extra_nothing_is_reported_missing():
    from amplify_sandbox.cli import missing_modules

    assert missing_modules() == []
