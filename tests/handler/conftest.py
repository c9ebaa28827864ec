"""Fixtures of the handler's tests. Integration tests use the project's sandbox (fixture `sandbox`:
the Amplify emulator + moto S3 on 127.0.0.1) and a local HTTPS receiver for CloudFormation responses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (REPO / "lambda", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from handler_support import Receiver  # noqa: E402
from site_harness import Site, new_site  # noqa: E402


@pytest.fixture
def site(sandbox: Any, receiver: Receiver, handler_env: Callable[..., None]) -> Site:
    return new_site(
        sandbox, receiver, app_name="handler-test", branch="feature/site", bucket="cdk-assets-test"
    )
