"""pytest fixtures: ``sandbox_session`` (one Sandbox per session) and ``sandbox`` (reset before each test).

Registered as the pytest11 entry point ``amplify_sandbox``
(or: ``pytest_plugins = ["amplify_sandbox.pytest_plugin"]``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amplify_sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox_session() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Iterator[Sandbox]:
    sandbox_session.reset()
    yield sandbox_session
