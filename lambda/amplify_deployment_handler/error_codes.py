"""The error code AWS answered with, for reasons and retry decisions.

Two sources, two readers: a botocore exception (the Amplify API and S3 reads through boto3) and the
XML body of an S3 error answer to an upload PUT (sent with http.client, not botocore).
"""

from __future__ import annotations

import re

from botocore.exceptions import ClientError


def botocore_error_code(exc: BaseException) -> str:
    """A ClientError's `Error.Code` (else its HTTP status, else "ClientError"); for any other
    exception (a BotoCoreError: no answer at all) its class name."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code") or exc.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode"
        )
        return str(code) if code else "ClientError"
    return type(exc).__name__


_S3_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")


def s3_xml_error_code(body: bytes) -> str:
    """The `<Code>` of an S3 XML error body (its first 2 KiB), or "" when there is none."""
    m = _S3_CODE.search(body[:2048])
    return m.group(1).decode("ascii") if m else ""


_S3_MESSAGE = re.compile(rb"<Message>([^<]{0,200})</Message>")


def s3_xml_error_message(body: bytes) -> str:
    """The `<Message>` of an S3 XML error body (its first 2 KiB), or ""."""
    m = _S3_MESSAGE.search(body[:2048])
    return m.group(1).decode("utf-8", "replace") if m else ""
