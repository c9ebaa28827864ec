"""Amplify's REST-JSON protocol: one function per operation, which parses the request into the typed
arguments of :class:`~.models.AmplifyBackend` and serialises what it returns.

urls.py routes each request to its function; :func:`dispatch` parses the JSON body and turns an
:class:`~.exceptions.AmplifyError` into its error answer (status from the model, ``x-amzn-ErrorType``,
``{"message": ...}``), as the operation declares it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from .exceptions import (
    MODELED_ERRORS,
    AmplifyError,
    BadRequestException,
    NotFoundException,
    ResourceNotFoundException,
)
from .httpd import Response
from .jobs import STEP_NAME, JobView
from .models import DEFAULT_REGION, AmplifyBackend, check_branch_name
from .state import PLATFORMS, STAGES, App, Branch, Settings

MD5_RE = re.compile(r"^[0-9a-fA-F]{32}$")
#: StartDeployment's sourceUrl, as the model constrains it (pattern and max length)
SOURCE_URL_RE = re.compile(r"^(s3|https|http)://")
SOURCE_URL_MAX = 3000
#: the model's TagKey pattern (``+-=`` is a range, as in the model) and TagMap/TagKeyList sizes
TAG_KEY_RE = re.compile(r"^(?!aws:)[a-zA-Z+-=._:/]+$")
MAX_TAG_KEYS = 50
NEXT_TOKEN_MAX = 2000


@dataclass(frozen=True)
class Request:
    """An API request: the (unquoted) path parameters, the query string, the headers (lower-case
    names), the JSON body and the operation's name."""

    params: dict[str, str]
    query: str
    headers: dict[str, str]
    body: dict[str, Any]
    operation: str = ""

    @property
    def region(self) -> str:
        """The Region the request is signed for: apps are kept per Region (ledger A8)."""
        return region_of(self.headers)

    def query_values(self, name: str) -> list[str]:
        return parse_qs(self.query).get(name, [])


ResponseFunction = Callable[[AmplifyBackend, Request], Response]


def json_response(status: int, data: Any) -> Response:
    return Response(
        status,
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())},
    )


def error_response(err: AmplifyError) -> Response:
    body = {"message": err.message}
    if isinstance(err, ResourceNotFoundException):  # its shape requires code as well
        body["code"] = err.code
    resp = json_response(err.status, body)
    resp.headers["x-amzn-ErrorType"] = err.code
    return resp


def as_modeled(operation: str, err: AmplifyError) -> AmplifyError:
    """Answer an error the operation does not declare as the declared BadRequestException."""
    declared = MODELED_ERRORS.get(operation, ("BadRequestException",))
    if isinstance(err, NotFoundException) and err.code not in declared:
        return BadRequestException(err.message)
    return err


def dispatch(
    backend: AmplifyBackend,
    operation: str,
    function: ResponseFunction,
    params: dict[str, str],
    query: str,
    headers: dict[str, str],
    raw_body: bytes,
) -> Response:
    """Run one API operation; every AmplifyError becomes its REST-JSON error answer."""
    try:
        return function(backend, Request(params, query, headers, parse_body(raw_body), operation))
    except AmplifyError as err:
        return error_response(as_modeled(operation, err))


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequestException("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise BadRequestException("The request body must be a JSON object.")
    return data


def region_of(headers: dict[str, str]) -> str:
    """The region from the SigV4 Authorization header's credential scope (us-east-1 when absent)."""
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", headers.get("authorization", ""))
    return m.group(1) if m else DEFAULT_REGION


# ---------------------------------------------------------------------- parsing
#: request member -> (attribute, kind) of what CreateApp/UpdateApp set on an app. A member that is
#: absent leaves the attribute as it is; "" / {} / [] clear it (an assumption, see docs/emulator.md).
APP_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("name", "name"),
    "description": ("description", "str"),
    "platform": ("platform", "platform"),
    "environmentVariables": ("environment_variables", "map"),
    "enableBranchAutoBuild": ("enable_branch_auto_build", "bool"),
    "enableBranchAutoDeletion": ("enable_branch_auto_deletion", "bool"),
    "enableBasicAuth": ("enable_basic_auth", "bool"),
    "basicAuthCredentials": ("basic_auth_credentials", "str"),
    "customRules": ("custom_rules", "rules"),
    "customHeaders": ("custom_headers", "str"),
    "buildSpec": ("build_spec", "str"),
    "iamServiceRoleArn": ("iam_service_role_arn", "str"),
    "computeRoleArn": ("compute_role_arn", "str"),
    "jobConfig": ("job_config", "struct"),
    "cacheConfig": ("cache_config", "struct"),
}
#: the Git-only members of UpdateApp: refused, the emulator's apps take manual deployments only
APP_GIT_MEMBERS = (
    "repository",
    "oauthToken",
    "accessToken",
    "enableAutoBranchCreation",
    "autoBranchCreationPatterns",
    "autoBranchCreationConfig",
)
#: request member -> (attribute, kind) of what CreateBranch/UpdateBranch set on a branch
BRANCH_FIELDS: dict[str, tuple[str, str]] = {
    "description": ("description", "str"),
    "framework": ("framework", "str"),
    "stage": ("stage", "stage"),
    "displayName": ("display_name", "str"),
    "enableNotification": ("enable_notification", "bool"),
    "enableAutoBuild": ("enable_auto_build", "bool"),
    "enableSkewProtection": ("enable_skew_protection", "bool"),
    "environmentVariables": ("environment_variables", "map"),
    "basicAuthCredentials": ("basic_auth_credentials", "str"),
    "enableBasicAuth": ("enable_basic_auth", "bool"),
    "enablePerformanceMode": ("enable_performance_mode", "bool"),
    "buildSpec": ("build_spec", "str"),
    "ttl": ("ttl", "str"),
    "enablePullRequestPreview": ("enable_pull_request_preview", "bool"),
    "pullRequestEnvironmentName": ("pull_request_environment_name", "str"),
    "backendEnvironmentArn": ("backend_environment_arn", "str"),
    "computeRoleArn": ("compute_role_arn", "str"),
}


def _rules(member: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise BadRequestException(f"{member} must be a list of rules.")
    rules = []
    for i, rule in enumerate(value):
        if (
            not isinstance(rule, dict)
            or not isinstance(rule.get("source"), str)
            or not isinstance(rule.get("target"), str)
            or not all(isinstance(v, str) for v in rule.values())
        ):
            raise BadRequestException(f"{member}[{i}]: a rule needs string source and target.")
        rules.append(
            {k: rule[k] for k in ("source", "target", "status", "condition") if rule.get(k) is not None}
        )
    return rules


def _string_map(member: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadRequestException(f"{member} must be a map of string to string.")
    return dict(value)


def _checked(member: str, kind: str, value: Any) -> Any:
    """``value`` of a request member, validated and copied (BadRequestException when malformed)."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise BadRequestException(f"{member} must be a boolean.")
        return value
    if kind == "map":
        return _string_map(member, value)
    if kind == "struct":
        if not isinstance(value, dict):
            raise BadRequestException(f"{member} must be an object.")
        return dict(value) or None
    if kind == "rules":
        return _rules(member, value)
    if not isinstance(value, str):
        raise BadRequestException(f"{member} must be a string.")
    if kind == "name" and not 1 <= len(value) <= 255:
        raise BadRequestException("name: 1..255 characters.")
    if kind == "platform" and value not in PLATFORMS:
        raise BadRequestException(f"platform must be one of {', '.join(PLATFORMS)}.")
    if kind == "stage" and value not in STAGES:
        raise BadRequestException(f"stage must be one of {', '.join(STAGES)}.")
    return value


def _settings(body: dict[str, Any], table: dict[str, tuple[str, str]]) -> Settings:
    """The attributes a request sets: {attribute: checked value} for the members it holds."""
    return {
        attr: _checked(member, kind, body[member])
        for member, (attr, kind) in table.items()
        if body.get(member) is not None
    }


def _file_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequestException("fileMap must be a map of file name to md5 hex digest.")
    for name, md5 in value.items():
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise BadRequestException(f"fileMap key {str(name)[:80]!r}: a file name is 1..255 chars.")
        if not isinstance(md5, str) or not MD5_RE.match(md5):
            raise BadRequestException(
                f"fileMap value of {name!r}: an md5 hex digest of 32 hex characters is expected."
            )
    return value


def _source_url(value: str | None) -> str | None:
    """The model's constraints on ``sourceUrl``: ``^(s3|https|http)://``, at most 3000 characters."""
    if value is not None and (len(value) > SOURCE_URL_MAX or not SOURCE_URL_RE.match(value)):
        raise BadRequestException(
            f"sourceUrl {value[:80]!r}: an s3://, https:// or http:// URL of at most {SOURCE_URL_MAX} "
            "characters is expected."
        )
    return value


def _max_results(query: dict[str, list[str]]) -> int | None:
    values = query.get("maxResults")
    if not values or values[0] == "":
        return None
    try:
        return int(values[0])
    except ValueError as exc:
        raise BadRequestException("maxResults must be an integer.") from exc


def _token(query: dict[str, list[str]]) -> str | None:
    values = query.get("nextToken")
    if not values or not values[0]:
        return None
    if len(values[0]) > NEXT_TOKEN_MAX:
        raise BadRequestException(f"nextToken: at most {NEXT_TOKEN_MAX} characters.")
    return values[0]


def _tag_key(key: Any) -> str:
    if not isinstance(key, str) or not TAG_KEY_RE.match(key) or len(key) > 128:
        raise BadRequestException(
            f"Invalid tag key {str(key)[:80]!r}: 1..128 characters of letters and + - = . _ : /, not "
            "starting with aws:."
        )
    return key


def _tags(value: Any) -> dict[str, str]:
    """A TagMap as the model constrains it: at most 50 tags, keys and values by their patterns."""
    if value is None:
        return {}
    tags = _string_map("tags", value)
    if len(tags) > MAX_TAG_KEYS:
        raise BadRequestException(f"tags: at most {MAX_TAG_KEYS} tags, got {len(tags)}.")
    for key, tag_value in tags.items():
        _tag_key(key)
        if len(tag_value) > 256 or not all(c.isalnum() or c.isspace() or c in "_.:/=+-@" for c in tag_value):
            raise BadRequestException(
                f"Invalid value of tag {key!r}: at most 256 letters, digits, spaces and _ . : / = + - @."
            )
    return tags


def _resource_arn(req: Request) -> str:
    arn = req.params["resourceArn"]
    if not arn.startswith("arn:aws:amplify:") or len(arn) > 2048:
        raise BadRequestException(f"Invalid resourceArn {arn[:80]!r}: an arn:aws:amplify: ARN is expected.")
    return arn


# ---------------------------------------------------------------------- serialisers
def app_json(app: App) -> dict[str, Any]:
    data: dict[str, Any] = {
        "appId": app.app_id,
        "appArn": app.arn,
        "name": app.name,
        "tags": app.tags,
        "description": app.description,
        "repository": app.repository,
        "platform": app.platform,
        "createTime": app.create_time,
        "updateTime": app.update_time,
        "environmentVariables": app.environment_variables,
        "defaultDomain": f"{app.app_id}.amplifyapp.com",
        "enableBranchAutoBuild": app.enable_branch_auto_build,
        "enableBranchAutoDeletion": app.enable_branch_auto_deletion,
        "enableBasicAuth": app.enable_basic_auth,
        "customRules": [dict(rule) for rule in app.custom_rules],
    }
    # optional members: present only when set
    for member, value in (
        ("basicAuthCredentials", app.basic_auth_credentials),
        ("customHeaders", app.custom_headers),
        ("buildSpec", app.build_spec),
        ("iamServiceRoleArn", app.iam_service_role_arn),
        ("computeRoleArn", app.compute_role_arn),
        ("jobConfig", app.job_config),
        ("cacheConfig", app.cache_config),
    ):
        if value:
            data[member] = value
    return data


def branch_json(app: App, branch: Branch) -> dict[str, Any]:
    data: dict[str, Any] = {
        "branchArn": f"{app.arn}/branches/{quote(branch.branch_name, safe='')}",
        "branchName": branch.branch_name,
        "description": branch.description,
        "tags": branch.tags,
        "stage": branch.stage,
        "displayName": branch.display_name,
        "enableNotification": branch.enable_notification,
        "createTime": branch.create_time,
        "updateTime": branch.update_time,
        "environmentVariables": branch.environment_variables,
        "enableAutoBuild": branch.enable_auto_build,
        "customDomains": [],
        "framework": branch.framework,
        # assumption: the id of the job whose content is live ("" before the first success)
        "activeJobId": "" if branch.live_job_id is None else str(branch.live_job_id),
        "totalNumberOfJobs": str(len(branch.jobs)),
        "enableBasicAuth": branch.enable_basic_auth,
        "ttl": branch.ttl,
        "enablePullRequestPreview": branch.enable_pull_request_preview,
        "enablePerformanceMode": branch.enable_performance_mode,
        "enableSkewProtection": branch.enable_skew_protection,
    }
    # optional members: present only when set
    for member, value in (
        ("basicAuthCredentials", branch.basic_auth_credentials),
        ("buildSpec", branch.build_spec),
        ("pullRequestEnvironmentName", branch.pull_request_environment_name),
        ("backendEnvironmentArn", branch.backend_environment_arn),
        ("computeRoleArn", branch.compute_role_arn),
    ):
        if value:
            data[member] = value
    return data


def job_summary_json(view: JobView) -> dict[str, Any]:
    job = view.job
    data: dict[str, Any] = {
        "jobArn": f"{view.app_arn}/branches/{quote(view.branch_name, safe='')}/jobs/{job.job_id:010d}",
        "jobId": str(job.job_id),
        "commitId": "HEAD",
        "commitMessage": "Manual deployment",
        "commitTime": job.create_time,
        "startTime": view.start_shown,
        "status": view.status,
        "jobType": "MANUAL",
    }
    if job.end_time is not None:
        data["endTime"] = job.end_time
    if job.source_url is not None:
        data["sourceUrl"] = job.source_url
        data["sourceUrlType"] = job.source_url_type
    return data


def job_json(view: JobView) -> dict[str, Any]:
    job, status = view.job, view.status
    steps = []
    # one DEPLOY step once the job runs; a job stopped before it was ever started has none (J11, J13)
    if (job.run_time is not None and status != "PENDING") or (job.final_status and job.ran):
        start = job.start_time if job.start_time is not None else job.create_time
        step: dict[str, Any] = {
            "stepName": STEP_NAME,
            "startTime": start,
            "status": status,
            "endTime": job.end_time if job.end_time is not None else view.now,
            "logUrl": view.log_url,
        }
        if job.status_reason:
            step["statusReason"] = job.status_reason
        steps.append(step)
    return {"summary": job_summary_json(view), "steps": steps}


# ---------------------------------------------------------------------- operations
def create_app(backend: AmplifyBackend, req: Request) -> Response:
    body = req.body
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise BadRequestException("name is required: 1..255 characters.")
    settings = _settings(body, APP_FIELDS)
    repository = body.get("repository") or ""
    if not isinstance(repository, str):
        raise BadRequestException("repository must be a string.")
    app = backend.create_app(
        name, settings, region=req.region, repository=repository, tags=_tags(body.get("tags"))
    )
    return json_response(200, {"app": app_json(app)})


def get_app(backend: AmplifyBackend, req: Request) -> Response:
    return json_response(200, {"app": app_json(backend.get_app(req.params["appId"], region=req.region))})


def list_apps(backend: AmplifyBackend, req: Request) -> Response:
    query = parse_qs(req.query)
    apps, token = backend.list_apps(_max_results(query), _token(query), region=req.region)
    data: dict[str, Any] = {"apps": [app_json(app) for app in apps]}
    if token:
        data["nextToken"] = token
    return json_response(200, data)


def update_app(backend: AmplifyBackend, req: Request) -> Response:
    for member in APP_GIT_MEMBERS:
        if req.body.get(member) is not None:
            raise BadRequestException(
                f"{member} cannot be set by UpdateApp in the Amplify emulator: its apps take manual "
                "deployments only, without a Git repository (emulator rule)."
            )
    app = backend.update_app(req.params["appId"], _settings(req.body, APP_FIELDS), region=req.region)
    return json_response(200, {"app": app_json(app)})


def delete_app(backend: AmplifyBackend, req: Request) -> Response:
    return json_response(200, {"app": app_json(backend.delete_app(req.params["appId"], region=req.region))})


def _branch_response(app_branch: tuple[App, Branch]) -> Response:
    return json_response(200, {"branch": branch_json(*app_branch)})


def create_branch(backend: AmplifyBackend, req: Request) -> Response:
    name = req.body.get("branchName")
    if not isinstance(name, str):
        raise BadRequestException("branchName is required.")
    check_branch_name(name)
    settings = _settings(req.body, BRANCH_FIELDS)
    tags = _tags(req.body.get("tags"))
    return _branch_response(
        backend.create_branch(req.params["appId"], name, settings, tags, region=req.region)
    )


def get_branch(backend: AmplifyBackend, req: Request) -> Response:
    return _branch_response(
        backend.get_branch(req.params["appId"], req.params["branchName"], region=req.region)
    )


def list_branches(backend: AmplifyBackend, req: Request) -> Response:
    query = parse_qs(req.query)
    app, branches, token = backend.list_branches(
        req.params["appId"], _max_results(query), _token(query), region=req.region
    )
    data: dict[str, Any] = {"branches": [branch_json(app, branch) for branch in branches]}
    if token:
        data["nextToken"] = token
    return json_response(200, data)


def update_branch(backend: AmplifyBackend, req: Request) -> Response:
    settings = _settings(req.body, BRANCH_FIELDS)
    return _branch_response(
        backend.update_branch(req.params["appId"], req.params["branchName"], settings, region=req.region)
    )


def delete_branch(backend: AmplifyBackend, req: Request) -> Response:
    return _branch_response(
        backend.delete_branch(req.params["appId"], req.params["branchName"], region=req.region)
    )


def create_deployment(backend: AmplifyBackend, req: Request) -> Response:
    file_map = _file_map(req.body.get("fileMap"))
    dep = backend.create_deployment(
        req.params["appId"], req.params["branchName"], file_map, region=req.region
    )
    return json_response(
        200,
        {
            "jobId": str(dep.job_id),
            "fileUploadUrls": dep.file_upload_urls,
            "zipUploadUrl": dep.zip_upload_url,
        },
    )


def start_deployment(backend: AmplifyBackend, req: Request) -> Response:
    body = req.body
    for name in ("jobId", "sourceUrl", "sourceUrlType"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequestException(f"{name} must be a string.")
    view = backend.start_deployment(
        req.params["appId"],
        req.params["branchName"],
        body.get("jobId"),
        _source_url(body.get("sourceUrl")),
        body.get("sourceUrlType"),
        region=req.region,
    )
    return json_response(200, {"jobSummary": job_summary_json(view)})


def get_job(backend: AmplifyBackend, req: Request) -> Response:
    view = backend.get_job(
        req.params["appId"], req.params["branchName"], req.params["jobId"], region=req.region
    )
    return json_response(200, {"job": job_json(view)})


def list_jobs(backend: AmplifyBackend, req: Request) -> Response:
    query = parse_qs(req.query)
    views, next_token = backend.list_jobs(
        req.params["appId"], req.params["branchName"], _max_results(query), _token(query), region=req.region
    )
    data: dict[str, Any] = {"jobSummaries": [job_summary_json(v) for v in views]}
    if next_token:
        data["nextToken"] = next_token
    return json_response(200, data)


def stop_job(backend: AmplifyBackend, req: Request) -> Response:
    view = backend.stop_job(
        req.params["appId"], req.params["branchName"], req.params["jobId"], region=req.region
    )
    return json_response(200, {"jobSummary": job_summary_json(view)})


def tag_resource(backend: AmplifyBackend, req: Request) -> Response:
    tags = req.body.get("tags")
    if tags is None:
        raise BadRequestException("tags is required.")
    backend.tag_resource(_resource_arn(req), _tags(tags), region=req.region)
    return json_response(200, {})


def untag_resource(backend: AmplifyBackend, req: Request) -> Response:
    keys = req.query_values("tagKeys")
    if not 1 <= len(keys) <= MAX_TAG_KEYS:
        raise BadRequestException(f"tagKeys: 1..{MAX_TAG_KEYS} tag keys are required.")
    for key in keys:
        _tag_key(key)
    backend.untag_resource(_resource_arn(req), keys, region=req.region)
    return json_response(200, {})


def list_tags_for_resource(backend: AmplifyBackend, req: Request) -> Response:
    return json_response(200, {"tags": backend.list_tags(_resource_arn(req), region=req.region)})


def not_emulated(backend: AmplifyBackend, req: Request) -> Response:
    """An operation of the model that the sandbox does not emulate: a declared BadRequestException
    (every operation declares it) that says so, rather than an unknown-operation answer."""
    raise BadRequestException(
        f"{req.operation} is not emulated by the Amplify sandbox (amplify-sandbox emulator); it serves "
        "apps, branches, manual deployments, jobs and tags. See docs/emulator.md."
    )
