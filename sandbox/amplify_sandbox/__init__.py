"""The local sandbox of cdk-amplify-deployment: an Amplify emulator, a moto S3 server, a stack driver.

from amplify_sandbox import Sandbox, AmplifyEmulator
"""

from __future__ import annotations

from .emulator import AmplifyEmulator, FakeClock, Knobs
from .emulator.sandbox import Sandbox

__all__ = ["AmplifyEmulator", "FakeClock", "Knobs", "Sandbox"]
