"""Amplify's REST-JSON protocol: routing, request parsing and response serialising.

Routes and error codes follow botocore's service model (``botocore/data/amplify/*/service-2.json``);
tests check them against it. Path parameters are split on the raw path before unquoting, so branch
names holding '/' (sent by botocore as %2F) work.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from .exceptions import AmplifyError, BadRequestException, NotFoundException
from .models import ACCOUNT_ID, STEP_NAME, AmplifyBackend, App, Branch, Job

#: operation -> (HTTP method, request URI template), exactly as in botocore's model
ROUTES: dict[str, tuple[str, str]] = {
    "CreateApp": ("POST", "/apps"),
    "GetApp": ("GET", "/apps/{appId}"),
    "UpdateApp": ("POST", "/apps/{appId}"),
    "DeleteApp": ("DELETE", "/apps/{appId}"),
    "CreateBranch": ("POST", "/apps/{appId}/branches"),
    "GetBranch": ("GET", "/apps/{appId}/branches/{branchName}"),
    "UpdateBranch": ("POST", "/apps/{appId}/branches/{branchName}"),
    "DeleteBranch": ("DELETE", "/apps/{appId}/branches/{branchName}"),
    "CreateDeployment": ("POST", "/apps/{appId}/branches/{branchName}/deployments"),
    "StartDeployment": ("POST", "/apps/{appId}/branches/{branchName}/deployments/start"),
    "GetJob": ("GET", "/apps/{appId}/branches/{branchName}/jobs/{jobId}"),
    "ListJobs": ("GET", "/apps/{appId}/branches/{branchName}/jobs"),
    "StopJob": ("DELETE", "/apps/{appId}/branches/{branchName}/jobs/{jobId}/stop"),
}

#: the errors each operation declares in the model; an error outside its list is answered as the
#: closest declared one (NotFound -> BadRequest), except injected throttling
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
}


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


_COMPILED = [(op, method, _compile(uri)) for op, (method, uri) in ROUTES.items()]


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def match(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The operation and its (unquoted) path parameters for a request, or None."""
    for op, op_method, regex in _COMPILED:
        m = regex.match(path)
        if m and method == op_method:
            return op, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def region_of(headers: dict[str, str]) -> str:
    """The region from the SigV4 Authorization header's credential scope (us-east-1 when absent)."""
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", headers.get("authorization", ""))
    return m.group(1) if m else "us-east-1"


def json_response(status: int, data: Any) -> Response:
    return Response(
        status,
        json.dumps(data).encode(),
        {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())},
    )


def error_response(err: AmplifyError) -> Response:
    resp = json_response(err.status, {"message": err.message})
    resp.headers["x-amzn-ErrorType"] = err.code
    return resp


def as_modeled(operation: str, err: AmplifyError) -> AmplifyError:
    """Answer an error the operation does not declare as the declared BadRequestException."""
    if isinstance(err, NotFoundException) and err.code not in MODELED_ERRORS[operation]:
        return BadRequestException(err.message)
    return err


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


def job_summary_json(app: App, branch: Branch, job: Job, now: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "jobArn": f"{app.arn}/branches/{quote(branch.branch_name, safe='')}/jobs/{job.job_id:010d}",
        "jobId": str(job.job_id),
        "commitId": "HEAD",
        "commitMessage": "Manual deployment",
        "commitTime": job.create_time,
        "startTime": job.start_time if job.start_time is not None else job.create_time,
        "status": job.status(now),
        "jobType": "MANUAL",
    }
    if job.end_time is not None:
        data["endTime"] = job.end_time
    if job.source_url is not None:
        data["sourceUrl"] = job.source_url
        data["sourceUrlType"] = job.source_url_type
    return data


def job_json(backend: AmplifyBackend, app: App, branch: Branch, job: Job, now: float) -> dict[str, Any]:
    steps = []
    status = job.status(now)
    if job.start_time is not None and status != "PENDING" or job.final_status:
        start = job.start_time if job.start_time is not None else job.create_time
        step: dict[str, Any] = {
            "stepName": STEP_NAME,
            "startTime": start,
            "status": status,
            "endTime": job.end_time if job.end_time is not None else now,
            "logUrl": f"{backend.public_url}/_sandbox/logs/{app.app_id}/{branch.key}/{job.job_id}",
        }
        if job.status_reason:
            step["statusReason"] = job.status_reason
        steps.append(step)
    return {"summary": job_summary_json(app, branch, job, now), "steps": steps}


# ---------------------------------------------------------------------- dispatch
def _body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequestException("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise BadRequestException("The request body must be a JSON object.")
    return data


def _max_results(query: dict[str, list[str]]) -> int | None:
    values = query.get("maxResults")
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError as exc:
        raise BadRequestException("maxResults must be an integer.") from exc


def _app_of(backend: AmplifyBackend, app_id: str) -> App:
    """The app the operation just worked on; NotFound if a concurrent DeleteApp removed it meanwhile."""
    with backend.lock:
        app = backend.apps.get(app_id)
    if app is None:
        raise NotFoundException(f"App {app_id} was deleted meanwhile.")
    return app


def _branch_of(app: App, branch_name: str) -> Branch:
    """The branch the operation just worked on; NotFound if a concurrent delete removed it meanwhile."""
    branch = app.branches.get(branch_name)
    if branch is None:
        raise NotFoundException(f"Branch {branch_name} of app {app.app_id} was deleted meanwhile.")
    return branch


def handle(
    backend: AmplifyBackend,
    operation: str,
    params: dict[str, str],
    query_string: str,
    headers: dict[str, str],
    raw_body: bytes,
) -> Response:
    """Run one API operation; every AmplifyError becomes its REST-JSON error answer."""
    try:
        return _handle(backend, operation, params, query_string, headers, raw_body)
    except AmplifyError as err:
        return error_response(as_modeled(operation, err))


def _handle(
    backend: AmplifyBackend,
    op: str,
    p: dict[str, str],
    query_string: str,
    headers: dict[str, str],
    raw_body: bytes,
) -> Response:
    body = _body(raw_body)
    if op == "CreateApp":
        return json_response(200, {"app": app_json(backend.create_app(body, region_of(headers)))})
    if op == "GetApp":
        return json_response(200, {"app": app_json(backend.get_app(p["appId"]))})
    if op == "UpdateApp":
        return json_response(200, {"app": app_json(backend.update_app(p["appId"], body))})
    if op == "DeleteApp":
        return json_response(200, {"app": app_json(backend.delete_app(p["appId"]))})
    if op == "CreateBranch":
        branch = backend.create_branch(p["appId"], body)
        return json_response(200, {"branch": branch_json(_app_of(backend, p["appId"]), branch)})
    if op == "GetBranch":
        branch = backend.get_branch(p["appId"], p["branchName"])
        return json_response(200, {"branch": branch_json(_app_of(backend, p["appId"]), branch)})
    if op == "UpdateBranch":
        branch = backend.update_branch(p["appId"], p["branchName"], body)
        return json_response(200, {"branch": branch_json(_app_of(backend, p["appId"]), branch)})
    if op == "DeleteBranch":
        app, branch = backend.delete_branch(p["appId"], p["branchName"])
        return json_response(200, {"branch": branch_json(app, branch)})
    if op == "CreateDeployment":
        file_map = body.get("fileMap")
        job, zip_url, file_urls = backend.create_deployment(p["appId"], p["branchName"], file_map)
        return json_response(
            200, {"jobId": str(job.job_id), "fileUploadUrls": file_urls, "zipUploadUrl": zip_url}
        )
    app_id, branch_name = p["appId"], p["branchName"]
    if op == "StartDeployment":
        for name in ("jobId", "sourceUrl", "sourceUrlType"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise BadRequestException(f"{name} must be a string.")
        job = backend.start_deployment(
            app_id, branch_name, body.get("jobId"), body.get("sourceUrl"), body.get("sourceUrlType")
        )
        with backend.lock:
            app = _app_of(backend, app_id)
            data = job_summary_json(app, _branch_of(app, branch_name), job, backend.now())
        return json_response(200, {"jobSummary": data})
    if op == "GetJob":
        job, now = backend.get_job(app_id, branch_name, p["jobId"])
        with backend.lock:
            app = _app_of(backend, app_id)
            return json_response(200, {"job": job_json(backend, app, _branch_of(app, branch_name), job, now)})
    if op == "ListJobs":
        query = parse_qs(query_string)
        token = query.get("nextToken", [None])[0]
        jobs, next_token, now = backend.list_jobs(app_id, branch_name, _max_results(query), token)
        with backend.lock:
            app = _app_of(backend, app_id)
            branch = _branch_of(app, branch_name)
            data: dict[str, Any] = {"jobSummaries": [job_summary_json(app, branch, j, now) for j in jobs]}
        if next_token:
            data["nextToken"] = next_token
        return json_response(200, data)
    if op == "StopJob":
        job, now = backend.stop_job(app_id, branch_name, p["jobId"])
        with backend.lock:
            app = _app_of(backend, app_id)
            return json_response(
                200, {"jobSummary": job_summary_json(app, _branch_of(app, branch_name), job, now)}
            )
    raise BadRequestException(f"Unsupported operation {op}.")  # pragma: no cover


__all__ = ["ACCOUNT_ID", "ROUTES", "MODELED_ERRORS", "Response", "handle", "match"]
