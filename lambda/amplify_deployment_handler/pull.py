"""PULL mode: Amplify fetches the site zip itself, through a presigned S3 GET URL of the source object.

StartDeployment(appId, branchName, sourceUrl, sourceUrlType="ZIP") without CreateDeployment (the way
the CDK alpha construct deploys): the function moves none of the site's bytes. It HEADs the
object (its size, and an early `AccessDenied`/`NoSuchKey` with the usual reason) and reads no byte
of its files (to count the files added, changed and removed, site_changes.py reads only its end
record and central directory); the zip's names are not checked (Amplify deploys the zip as it is).

The URL is a credential (whoever holds it can read the object until it expires): it is passed to
StartDeployment only, never logged, returned or put in a reason. It is signed with SigV4 (required
for SSE-KMS objects, which the CDK bootstrap bucket holds) by the function's own credentials, so it
grants nothing the function's `s3:GetObject` on that object does not, and it expires
`URL_GRACE_S` seconds after the handler's own deadline (`url_expiry`): Amplify's job must have
fetched the zip by then, since the handler stops a job still running at its deadline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .deadline import Deadline
from .props import DeploymentProps

# After our deadline the handler may still be stopping the job and answering CloudFormation (the
# deadline's safety margin, <= 30 s); the rest covers clock skew between Lambda and S3.
URL_GRACE_S = 60
SOURCE_URL_MAX = 3000  # StartDeployment's sourceUrl: at most 3000 characters (botocore model)


class PullError(Exception):
    """PULL mode cannot deploy these properties; the message is the reason CloudFormation shows."""


def pull_problem(props: DeploymentProps) -> str | None:
    """Why PULL mode cannot deploy `props` (one phrase naming the mode to use instead), or None."""
    n = len(props.sources)
    if n != 1:
        return f"UploadMode PULL deploys exactly one source zip, got {n} sources; use UploadMode ZIP"
    if props.sources[0].has_markers:
        return (
            "UploadMode PULL cannot substitute deploy-time values (Sources[0] has Markers); "
            "use UploadMode ZIP"
        )
    if props.exclude or props.include or props.key_prefix:
        return (
            "UploadMode PULL deploys the zip as it is, without Exclude, Include or "
            "DestinationKeyPrefix; use UploadMode ZIP"
        )
    return None


def url_expiry(deadline: Deadline) -> int:
    """Seconds the presigned URL stays valid: the handler's remaining time plus `URL_GRACE_S`."""
    return math.ceil(deadline.remaining()) + URL_GRACE_S


def _presigner(s3: Any, bucket: str) -> Any:
    """A client that signs like `s3` but with SigV4 and a regional host: botocore presigns on the
    global `s3.amazonaws.com` host by default, which redirects (307) for a bucket made in another
    region less than a day ago, e.g. by a fresh `cdk bootstrap`. A bucket name with dots would not
    match the TLS certificate as a host name: path style then; local endpoints keep path style too."""
    import boto3
    from botocore.config import Config

    endpoint = str(s3.meta.endpoint_url or "")
    on_aws = ".amazonaws.com" in endpoint and "." not in bucket
    config = Config(signature_version="s3v4", s3={"addressing_style": "virtual" if on_aws else "path"})
    return boto3.client("s3", region_name=s3.meta.region_name, endpoint_url=endpoint or None, config=config)


def presigned_source(s3: Any, bucket: str, key: str, deadline: Deadline) -> Mapping[str, str]:
    """StartDeployment's `sourceUrl` (a presigned GET of s3://bucket/key) and `sourceUrlType`."""
    client = _presigner(s3, bucket)
    url = str(
        client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=url_expiry(deadline)
        )
    )
    if len(url) > SOURCE_URL_MAX:
        raise PullError(
            f"the presigned URL of the source is {len(url)} characters, StartDeployment accepts at most "
            f"{SOURCE_URL_MAX}; use UploadMode ZIP"
        )
    return {"sourceUrl": url, "sourceUrlType": "ZIP"}
