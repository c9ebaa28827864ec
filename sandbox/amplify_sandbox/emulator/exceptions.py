"""Errors of the Amplify API, each carrying its AWS error code and HTTP status (as in botocore's model),
and which of them each operation declares."""

from __future__ import annotations


class AmplifyError(Exception):
    """An error the API answers with: ``code`` goes to ``x-amzn-ErrorType``, ``status`` is the HTTP status."""

    code = "InternalFailureException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestException(AmplifyError):
    code = "BadRequestException"
    status = 400


class UnauthorizedException(AmplifyError):
    code = "UnauthorizedException"
    status = 401


class NotFoundException(AmplifyError):
    code = "NotFoundException"
    status = 404


class ResourceNotFoundException(AmplifyError):
    """The tag operations' "not found" (its body carries ``code`` as well as ``message``)."""

    code = "ResourceNotFoundException"
    status = 404


class LimitExceededException(AmplifyError):
    code = "LimitExceededException"
    status = 429


class InternalFailureException(AmplifyError):
    code = "InternalFailureException"
    status = 500


class DependentServiceFailureException(AmplifyError):
    code = "DependentServiceFailureException"
    status = 503


class TooManyRequestsException(AmplifyError):
    """Not in Amplify's model: the generic API Gateway throttling answer (botocore retries it)."""

    code = "TooManyRequestsException"
    status = 429


#: the errors of the model by code (the refuse_next_api_calls knob answers any of them)
ERRORS_BY_CODE: dict[str, type[AmplifyError]] = {
    cls.code: cls
    for cls in (
        BadRequestException,
        UnauthorizedException,
        NotFoundException,
        ResourceNotFoundException,
        LimitExceededException,
        InternalFailureException,
        DependentServiceFailureException,
    )
}


# Errors of the emulator's presigned upload URLs: S3 answers with XML bodies.
class UploadError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


#: the errors each emulated operation declares in the model; an error outside its list is answered as
#: the closest declared one (NotFound -> BadRequest), except injected throttling. Every operation of
#: the model declares BadRequestException, the answer of the operations the emulator does not emulate.
MODELED_ERRORS: dict[str, tuple[str, ...]] = {
    "CreateApp": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
        "LimitExceededException",
        "DependentServiceFailureException",
    ),
    "GetApp": (
        "BadRequestException",
        "NotFoundException",
        "UnauthorizedException",
        "InternalFailureException",
    ),
    "UpdateApp": (
        "BadRequestException",
        "NotFoundException",
        "UnauthorizedException",
        "InternalFailureException",
    ),
    "DeleteApp": (
        "BadRequestException",
        "NotFoundException",
        "UnauthorizedException",
        "InternalFailureException",
        "DependentServiceFailureException",
    ),
    "CreateBranch": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
        "LimitExceededException",
        "DependentServiceFailureException",
    ),
    "GetBranch": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
    ),
    "UpdateBranch": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
        "DependentServiceFailureException",
    ),
    "DeleteBranch": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
        "DependentServiceFailureException",
    ),
    "CreateDeployment": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
        "LimitExceededException",
    ),
    "StartDeployment": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
        "NotFoundException",
        "LimitExceededException",
    ),
    "GetJob": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
        "NotFoundException",
        "LimitExceededException",
    ),
    "ListJobs": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
        "LimitExceededException",
    ),
    "StopJob": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
        "NotFoundException",
        "LimitExceededException",
    ),
    "ListApps": ("BadRequestException", "UnauthorizedException", "InternalFailureException"),
    "ListBranches": ("BadRequestException", "UnauthorizedException", "InternalFailureException"),
    "TagResource": ("InternalFailureException", "BadRequestException", "ResourceNotFoundException"),
    "UntagResource": ("InternalFailureException", "BadRequestException", "ResourceNotFoundException"),
    "ListTagsForResource": ("InternalFailureException", "BadRequestException", "ResourceNotFoundException"),
    "CreateDomainAssociation": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
        "LimitExceededException",
        "DependentServiceFailureException",
    ),
    "GetDomainAssociation": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
    ),
    "ListDomainAssociations": (
        "BadRequestException",
        "UnauthorizedException",
        "InternalFailureException",
    ),
    "UpdateDomainAssociation": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
        "DependentServiceFailureException",
    ),
    "DeleteDomainAssociation": (
        "BadRequestException",
        "UnauthorizedException",
        "NotFoundException",
        "InternalFailureException",
        "DependentServiceFailureException",
    ),
}
