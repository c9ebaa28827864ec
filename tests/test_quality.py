"""Quality gates that run with the suite: ruff (lint + format) on the repo, mypy --strict on the library,
the handler and the sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)


def test_ruff_lint():
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout[-4000:]


def test_ruff_format():
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_strict_library():
    result = run(str(BIN / "mypy"), "constructs/amplify_deployment")
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_strict_handler():
    # The handler is checked as Lambda imports it: from the folder that holds the package.
    result = run(
        str(BIN / "mypy"),
        "--config-file",
        str(REPO / "pyproject.toml"),
        "-p",
        "amplify_deployment_handler",
        cwd=REPO / "lambda",
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_strict_sandbox():
    result = run(str(BIN / "mypy"), "-p", "amplify_sandbox")
    assert result.returncode == 0, result.stdout[-4000:]
