"""The Amplify emulator: a local Amplify Hosting (manual deployments) that real boto3 talks to over HTTP.

``models`` holds the state and rules, ``responses`` the REST-JSON protocol, ``server`` the HTTP layer.
"""

from __future__ import annotations

from .exceptions import AmplifyError
from .knobs import Counters, Knobs
from .models import AmplifyBackend, FakeClock
from .server import AmplifyEmulator

__all__ = ["AmplifyBackend", "AmplifyEmulator", "AmplifyError", "Counters", "FakeClock", "Knobs"]
