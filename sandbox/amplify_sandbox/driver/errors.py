"""The driver's failures, and the one reader of an AWS error code."""

from __future__ import annotations


class DriverError(Exception):
    """The driver cannot go on (bad template, unsupported resource, synth failure...)."""


class ResourceFailed(Exception):
    """A resource failed; its event (CREATE_FAILED, ...) has been reported. The stack rolls back."""

    def __init__(self, logical_id: str, reason: str, physical_id: str | None = None) -> None:
        self.logical_id = logical_id
        self.reason = reason
        self.physical_id = physical_id
        super().__init__(f"{logical_id}: {reason}")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``NotFoundException``...), else ``""``."""
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code", ""))


def error_reason(exc: BaseException) -> str:
    """``"<Code>: <message>"`` for an AWS error, ``"<ExceptionClass>: <message>"`` otherwise."""
    return f"{error_code(exc) or type(exc).__name__}: {exc}"
