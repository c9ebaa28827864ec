"""The route table: which function answers a request, by HTTP method and path.

- the Amplify API: one route per operation, with the method and request URI of botocore's model
  (``botocore/data/amplify/*/service-2.json``; tests check them against it), answered by responses.py;
- ``/_upload/...``: the presigned upload URLs, answered by uploads.py;
- ``/_sandbox/...``: the sandbox's admin endpoints, answered by admin.py.

Path parameters are matched on the raw path, then unquoted, so branch names holding '/' (sent by
botocore as %2F) work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from . import admin, domain_responses, responses
from .httpd import Response
from .signing import PREFIX as UPLOAD_PREFIX

ADMIN_PREFIX = "/_sandbox/"
_BRANCH = "/apps/{appId}/branches/{branchName}"
_ENVS = "/apps/{appId}/backendenvironments"
_ENV = _ENVS + "/{environmentName}"
_DOMAIN = "/apps/{appId}/domains/{domainName}"


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


@dataclass(frozen=True)
class Route:
    """An API operation: its HTTP method and request URI template, and the function that answers it."""

    operation: str
    method: str
    uri: str
    function: responses.ResponseFunction
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.uri))


_NOT_EMULATED = responses.not_emulated

#: every operation of the model, one line each (tests/emulator/test_service_model.py checks the list
#: and each method and URI against it). ``_NOT_EMULATED`` (``responses.not_emulated``) answers a
#: declared BadRequestException saying the sandbox does not emulate the operation; emulating one is
#: its function in responses.py (and its errors in exceptions.MODELED_ERRORS) in place of that.
ROUTES: dict[str, Route] = {
    route.operation: route
    for route in (
        Route("CreateApp", "POST", "/apps", responses.create_app),
        Route("ListApps", "GET", "/apps", responses.list_apps),
        Route("GetApp", "GET", "/apps/{appId}", responses.get_app),
        Route("UpdateApp", "POST", "/apps/{appId}", responses.update_app),
        Route("DeleteApp", "DELETE", "/apps/{appId}", responses.delete_app),
        Route("CreateBranch", "POST", "/apps/{appId}/branches", responses.create_branch),
        Route("ListBranches", "GET", "/apps/{appId}/branches", responses.list_branches),
        Route("GetBranch", "GET", "/apps/{appId}/branches/{branchName}", responses.get_branch),
        Route("UpdateBranch", "POST", "/apps/{appId}/branches/{branchName}", responses.update_branch),
        Route("DeleteBranch", "DELETE", "/apps/{appId}/branches/{branchName}", responses.delete_branch),
        Route("CreateDeployment", "POST", f"{_BRANCH}/deployments", responses.create_deployment),
        Route("StartDeployment", "POST", f"{_BRANCH}/deployments/start", responses.start_deployment),
        Route("GetJob", "GET", f"{_BRANCH}/jobs/{{jobId}}", responses.get_job),
        Route("ListJobs", "GET", f"{_BRANCH}/jobs", responses.list_jobs),
        Route("StopJob", "DELETE", f"{_BRANCH}/jobs/{{jobId}}/stop", responses.stop_job),
        Route("TagResource", "POST", "/tags/{resourceArn}", responses.tag_resource),
        Route("UntagResource", "DELETE", "/tags/{resourceArn}", responses.untag_resource),
        Route("ListTagsForResource", "GET", "/tags/{resourceArn}", responses.list_tags_for_resource),
        # not emulated
        Route("StartJob", "POST", f"{_BRANCH}/jobs", _NOT_EMULATED),
        Route("DeleteJob", "DELETE", f"{_BRANCH}/jobs/{{jobId}}", _NOT_EMULATED),
        Route("ListArtifacts", "GET", f"{_BRANCH}/jobs/{{jobId}}/artifacts", _NOT_EMULATED),
        Route("GetArtifactUrl", "GET", "/artifacts/{artifactId}", _NOT_EMULATED),
        Route("GenerateAccessLogs", "POST", "/apps/{appId}/accesslogs", _NOT_EMULATED),
        Route("CreateBackendEnvironment", "POST", _ENVS, _NOT_EMULATED),
        Route("ListBackendEnvironments", "GET", _ENVS, _NOT_EMULATED),
        Route("GetBackendEnvironment", "GET", _ENV, _NOT_EMULATED),
        Route("DeleteBackendEnvironment", "DELETE", _ENV, _NOT_EMULATED),
        Route("CreateWebhook", "POST", "/apps/{appId}/webhooks", _NOT_EMULATED),
        Route("ListWebhooks", "GET", "/apps/{appId}/webhooks", _NOT_EMULATED),
        Route("GetWebhook", "GET", "/webhooks/{webhookId}", _NOT_EMULATED),
        Route("UpdateWebhook", "POST", "/webhooks/{webhookId}", _NOT_EMULATED),
        Route("DeleteWebhook", "DELETE", "/webhooks/{webhookId}", _NOT_EMULATED),
        # custom domains (domain_responses.py, domains.py)
        Route(
            "CreateDomainAssociation",
            "POST",
            "/apps/{appId}/domains",
            domain_responses.create_domain_association,
        ),
        Route(
            "ListDomainAssociations",
            "GET",
            "/apps/{appId}/domains",
            domain_responses.list_domain_associations,
        ),
        Route("GetDomainAssociation", "GET", _DOMAIN, domain_responses.get_domain_association),
        Route("UpdateDomainAssociation", "POST", _DOMAIN, domain_responses.update_domain_association),
        Route("DeleteDomainAssociation", "DELETE", _DOMAIN, domain_responses.delete_domain_association),
    )
}

AdminFunction = Callable[[admin.Controls, admin.AdminRequest], Response]

#: (method, path pattern) -> the admin function that answers it
ADMIN_ROUTES: dict[tuple[str, re.Pattern[str]], AdminFunction] = {
    ("GET", re.compile(r"^/_sandbox/knobs$")): admin.get_knobs,
    ("POST", re.compile(r"^/_sandbox/knobs$")): admin.set_knobs,
    ("GET", re.compile(r"^/_sandbox/counters$")): admin.get_counters,
    ("POST", re.compile(r"^/_sandbox/reset$")): admin.reset,
    ("GET", re.compile(r"^/_sandbox/logs/.*$")): admin.job_log,
    ("GET", re.compile(r"^/_sandbox/site-url$")): admin.site_url,
}


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The API route and its (unquoted) path parameters for a request, or None."""
    for route in ROUTES.values():
        m = route.pattern.match(path)
        if m and method == route.method:
            return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def match_admin(method: str, path: str) -> AdminFunction | None:
    for (route_method, pattern), function in ADMIN_ROUTES.items():
        if method == route_method and pattern.match(path):
            return function
    return None


__all__ = ["ADMIN_PREFIX", "ADMIN_ROUTES", "ROUTES", "UPLOAD_PREFIX", "Route", "match", "match_admin"]
