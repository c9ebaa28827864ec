"""The Amplify emulator: a local Amplify Hosting (manual deployments) that real boto3 talks to over HTTP.

Laid out as moto lays out a service: ``models`` holds the state and the service's rules, ``responses``
parses requests and serialises results (one function per operation), ``urls`` routes requests to them.
``uploads``, ``site`` and ``signing`` are the upload URLs' PUTs, what a branch URL serves and how upload
URLs are signed; ``faults``/``knobs`` the injected faults; ``server`` the HTTP servers.
"""

from __future__ import annotations

from .clock import FakeClock
from .exceptions import AmplifyError
from .knobs import Counters, Knobs
from .models import AmplifyBackend
from .server import AmplifyEmulator

__all__ = ["AmplifyBackend", "AmplifyEmulator", "AmplifyError", "Counters", "FakeClock", "Knobs"]
