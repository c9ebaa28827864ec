"""What Lambda and CloudFormation hand a custom resource's function: the event and the context.

The one definition of both, used by the local stack driver, the tests and the benchmarks. Stdlib
only and free of package-relative imports, so a process that must not see this package (the Lambda
runtime stand-in, which runs with only boto3 and the code asset on its path) can load this file by
its path (:data:`PATH`).

The event follows the CloudFormation user guide's "Custom resource request objects"; the context
has the attributes and method of the Python runtime's ``LambdaContext`` (awslambdaric).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_FUNCTION_NAME = "amplify-deployment-handler"


def function_arn(function_name: str = DEFAULT_FUNCTION_NAME, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"


def stack_id(stack_name: str, region: str = REGION, unique: str | None = None) -> str:
    return f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/{unique or uuid.uuid4()}"


def custom_resource_event(
    request_type: str,
    properties: dict[str, Any],
    *,
    response_url: str,
    stack_id: str,
    logical_id: str,
    resource_type: str = "Custom::AmplifyDeployment",
    service_token: str | None = None,
    request_id: str | None = None,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A CloudFormation custom-resource request (Create, Update or Delete).

    ``ResourceProperties`` always carries ``ServiceToken`` (taken from ``properties`` when present,
    else ``service_token``, else the default function's ARN), as CloudFormation sends it.
    ``PhysicalResourceId`` is set for Update and Delete, ``OldResourceProperties`` for Update.
    """
    token = str(properties.get("ServiceToken") or service_token or function_arn())
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": {**properties, "ServiceToken": token},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = {**old_properties, "ServiceToken": token}
    return event


class LambdaContext:
    """The context object Lambda passes to a Python handler, counting down to its deadline."""

    def __init__(
        self,
        *,
        deadline_ms: int,
        function_name: str = DEFAULT_FUNCTION_NAME,
        invoked_function_arn: str | None = None,
        memory_limit_in_mb: int | str = 512,
        aws_request_id: str | None = None,
        log_group_name: str = "",
        log_stream_name: str = "",
        function_version: str = "$LATEST",
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn or function_arn(function_name)
        # a string, as awslambdaric reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = log_group_name or f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = int(deadline_ms)

    @classmethod
    def for_seconds(cls, seconds: float, **attributes: Any) -> LambdaContext:
        """A context whose invocation ends ``seconds`` from now."""
        return cls(deadline_ms=int((time.time() + seconds) * 1000), **attributes)

    def to_dict(self) -> dict[str, Any]:
        """What a child process needs to rebuild this context (:meth:`from_dict`)."""
        return {
            "deadline_ms": self._deadline_ms,
            "function_name": self.function_name,
            "invoked_function_arn": self.invoked_function_arn,
            "memory_limit_in_mb": self.memory_limit_in_mb,
            "aws_request_id": self.aws_request_id,
            "log_group_name": self.log_group_name,
            "log_stream_name": self.log_stream_name,
            "function_version": self.function_version,
        }

    @classmethod
    def from_dict(cls, info: dict[str, Any]) -> LambdaContext:
        return cls(**info)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb}])"
        )


PATH = __file__
"""The file to load in a process without this package: ``importlib.util.spec_from_file_location``."""
