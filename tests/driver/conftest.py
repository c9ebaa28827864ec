"""Fixtures of the driver tests: a temporary copy of the echo CDK app, and its settings."""

import json
from pathlib import Path

import pytest

from amplify_sandbox.driver import copy_app

APPS = Path(__file__).resolve().parent / "apps"


def edit_settings(app_dir: Path, **changes):
    path = app_dir / "settings.json"
    settings = json.loads(path.read_text())
    settings.update(changes)
    path.write_text(json.dumps(settings, indent=2))


@pytest.fixture
def echo_app(tmp_path):
    return copy_app(APPS / "echo", tmp_path / "echo")
