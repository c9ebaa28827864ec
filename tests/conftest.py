"""Shared test set-up: the Amplify/S3 sandbox fixtures and a quiet jsii."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# jsii warns on every start that Node 20 is end-of-life; the warning is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# The handler package is imported by tests straight from its source folder, and the handler's test
# harness (tests/handler/site_harness.py) serves tests/handler and tests/reliability alike.
sys.path.insert(0, str(REPO / "lambda"))
sys.path.insert(0, str(REPO / "tests" / "handler"))

pytest_plugins = ["site_harness"]
