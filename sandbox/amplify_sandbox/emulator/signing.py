"""The upload URLs: their shape, how they are signed and how a signed URL is checked.

A URL looks like a presigned S3 PUT: ``{base}/_upload/<appId>/<branchKey>/<jobId>/<slot>?X-Amz-...``.
Its signature is an HMAC-SHA256 of the path, the date and the expiry, keyed by a random secret of the
job, so a URL is bound to one job and one slot, and changing any part of it breaks the signature.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from .exceptions import UploadError

PREFIX = "/_upload/"


def amz_date(epoch: float) -> str:
    """``20250101T000000Z``: the X-Amz-Date format."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_amz_date(text: str) -> float:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


@dataclass(frozen=True)
class UploadAddress:
    """The path of an upload URL: which job of which branch, and which slot ("zip" or a fileMap index)."""

    app_id: str
    branch_key: str
    job_id: str
    slot: str

    @property
    def path(self) -> str:
        return f"{PREFIX}{self.app_id}/{self.branch_key}/{self.job_id}/{self.slot}"

    @classmethod
    def parse(cls, path: str) -> UploadAddress | None:
        parts = path.split("/")
        if len(parts) != 6 or parts[:2] != ["", PREFIX.strip("/")]:
            return None
        return cls(*parts[2:])


@dataclass(frozen=True)
class Presigned:
    """The signing members of an upload URL's query."""

    date: str
    expires: str
    signature: str

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Presigned:
        return cls(
            query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", ""), query.get("X-Amz-Signature", "")
        )


def _signature(secret: str, path: str, date: str, expires: str) -> str:
    return hmac.new(secret.encode(), f"{path}\n{date}\n{expires}".encode(), hashlib.sha256).hexdigest()


def presign(
    base_url: str,
    address: UploadAddress,
    secret: str,
    date: str,
    expires: int,
    region: str,
    md5_signed: bool = False,
) -> str:
    """The full upload URL of ``address``, signed with the job's ``secret`` (and, when ``md5_signed``,
    naming ``content-md5`` among the signed headers: the PUT must then carry it)."""
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"ASIAEMULATOR000000000/{date[:8]}/{region}/s3/aws4_request",
        "X-Amz-Date": date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "content-md5;host" if md5_signed else "host",
        "X-Amz-Signature": _signature(secret, address.path, date, str(expires)),
    }
    return f"{base_url}{address.path}?{urlencode(query)}"


def verify(secret: str, address: UploadAddress, signed: Presigned, now: float) -> None:
    """Raise the S3 error of a URL whose signature does not match, or that has expired at ``now``."""
    expected = _signature(secret, address.path, signed.date, signed.expires)
    if not hmac.compare_digest(signed.signature, expected):
        raise UploadError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if now > parse_amz_date(signed.date) + int(signed.expires):
        raise UploadError(403, "AccessDenied", "Request has expired")
