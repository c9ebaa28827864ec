"""Assertions shared by the reliability tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REASON_MAX = 256
# What a presigned URL (an upload URL or the ResponseURL) would leave in a line that printed it.
SECRET_MARKS = (
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "/_upload/",  # the emulator's upload URL path
    "cloudformation-custom-resource-response",  # the driver's ResponseURL path
    "/cfn/",  # the test receiver's ResponseURL path
)


def assert_reason(resp: Mapping[str, Any], starts: str) -> None:
    """FAILED, one line, at most 256 characters, the useful part first, no traceback or URL."""
    reason = resp["Reason"]
    assert resp["Status"] == "FAILED"
    assert reason.startswith(starts), reason
    assert len(reason) <= REASON_MAX and "\n" not in reason
    assert "Traceback" not in reason and "X-Amz-" not in reason and "http" not in reason


def assert_no_secrets(text: str) -> None:
    found = [mark for mark in SECRET_MARKS if mark in text]
    assert not found, f"presigned URL parts in the output: {found}"
