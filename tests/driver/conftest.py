"""Fixtures of the driver tests: a temporary copy of the echo CDK app, and its settings.

Every driver test runs with a short ServiceTimeout wait (AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP): a
function that ends without answering holds its resource for half a second, not the hour
CloudFormation would wait (test_concurrency.py checks the wait itself)."""

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


SERVICE_TIMEOUT_CAP = "0.5"


@pytest.fixture(autouse=True)
def short_service_timeout_wait(monkeypatch):
    monkeypatch.setenv("AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP", SERVICE_TIMEOUT_CAP)


@pytest.fixture
def echo_app(tmp_path):
    return copy_app(APPS / "echo", tmp_path / "echo")
