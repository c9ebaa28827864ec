"""Amplify's identifier rules and the handler's defaults: the one definition of each.

The construct library (synth-time checks) and the sandbox's emulator import these, so an id that
the handler would refuse fails at synth with the construct's error, and the emulator applies the
same rule as the handler (botocore service model ``amplify/2017-07-25``: ``AppId`` 1..20 characters
matching ``d[a-z0-9]+``, i.e. at least two; ``BranchName`` 1..255 characters; ``FileMap`` keys at
most 255 characters). Pure and stdlib only: the handler's code asset runs it on Lambda.
"""

from __future__ import annotations

import re

APP_ID_PATTERN = r"d[a-z0-9]+"
APP_ID_MAX = 20
BRANCH_NAME_MAX = 255
FILE_NAME_MAX = 255  # CreateDeployment fileMap key length
# A branch's stage (botocore model ``Stage``; CloudFormation AWS::Amplify::Branch ``Stage``).
BRANCH_STAGES = ("PRODUCTION", "BETA", "DEVELOPMENT", "EXPERIMENTAL", "PULL_REQUEST")

DEFAULT_FUNCTION_TIMEOUT_S = 900  # the function's timeout when none is configured (Lambda's maximum)
DEFAULT_UPLOAD_WORKERS = 32  # measured: 16 -> 14.4x one at a time, 32 -> 20.7x (docs/performance.md)

_APP_ID = re.compile(APP_ID_PATTERN)


def app_id_problem(app_id: str) -> str | None:
    """None when ``app_id`` is a valid Amplify app id, else what is wrong with it (one phrase)."""
    if len(app_id) > APP_ID_MAX or not _APP_ID.fullmatch(app_id):
        return f"is not an Amplify app id ({APP_ID_PATTERN}, 2..{APP_ID_MAX} characters)"
    return None


def branch_name_problem(branch_name: str) -> str | None:
    """None when ``branch_name`` is a valid Amplify branch name, else what is wrong with it."""
    if not branch_name:
        return "must not be empty"
    if len(branch_name) > BRANCH_NAME_MAX:
        return f"is longer than {BRANCH_NAME_MAX} characters ({len(branch_name)})"
    return None
