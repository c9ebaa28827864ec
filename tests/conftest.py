"""Shared test set-up: the Amplify/S3 sandbox fixtures and a quiet jsii."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# jsii warns on every start that Node 20 is end-of-life; the warning is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# The local stack driver, as CloudFormation, waits for a custom resource whose function ended without
# answering until its ServiceTimeout (function timeout + 60 s, up to 16 minutes after the request):
# a handler that stopped answering would hang a whole-stack test (tests/e2e, tests/reliability,
# tests/browser) that long. Cap that wait (not the function's own timeout) for the session. It is
# set in os.environ, so `amplify-sandbox deploy` run in a subprocess inherits it; a value already in
# the environment is kept, and a test or folder sets its own with monkeypatch (tests/driver: 0.5 s).
os.environ.setdefault("AMPLIFY_SANDBOX_SERVICE_TIMEOUT_CAP", "30")
# The handler package is imported by tests straight from its source folder, and the handler's test
# harness (tests/handler/site_harness.py) serves tests/handler and tests/reliability alike.
sys.path.insert(0, str(REPO / "lambda"))
sys.path.insert(0, str(REPO / "tests" / "handler"))

pytest_plugins = ["site_harness"]
