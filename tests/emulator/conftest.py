"""Fixtures of the Amplify emulator tests: one emulator (fake clock) per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amplify_sandbox import AmplifyEmulator, FakeClock

from ._helpers import Emu, amplify_client


@pytest.fixture(scope="session")
def _emu_session() -> Iterator[tuple[AmplifyEmulator, FakeClock]]:
    clock = FakeClock(start=1_790_000_000.0)
    with AmplifyEmulator(clock=clock) as emulator:
        yield emulator, clock


@pytest.fixture
def emu(_emu_session: tuple[AmplifyEmulator, FakeClock]) -> Emu:
    emulator, clock = _emu_session
    emulator.reset()
    return Emu(emulator, clock, amplify_client(emulator.endpoint))
