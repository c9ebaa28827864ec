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
from typing import TYPE_CHECKING
from urllib.parse import unquote

from . import admin, domain_responses, responses
from .httpd import Response
from .signing import PREFIX as UPLOAD_PREFIX

if TYPE_CHECKING:
    from .server import AmplifyEmulator

ADMIN_PREFIX = "/_sandbox/"


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


ROUTES: dict[str, Route] = {
    route.operation: route
    for route in (
        Route("CreateApp", "POST", "/apps", responses.create_app),
        Route("GetApp", "GET", "/apps/{appId}", responses.get_app),
        Route("UpdateApp", "POST", "/apps/{appId}", responses.update_app),
        Route("DeleteApp", "DELETE", "/apps/{appId}", responses.delete_app),
        Route("CreateBranch", "POST", "/apps/{appId}/branches", responses.create_branch),
        Route("GetBranch", "GET", "/apps/{appId}/branches/{branchName}", responses.get_branch),
        Route("UpdateBranch", "POST", "/apps/{appId}/branches/{branchName}", responses.update_branch),
        Route("DeleteBranch", "DELETE", "/apps/{appId}/branches/{branchName}", responses.delete_branch),
        Route(
            "CreateDeployment",
            "POST",
            "/apps/{appId}/branches/{branchName}/deployments",
            responses.create_deployment,
        ),
        Route(
            "StartDeployment",
            "POST",
            "/apps/{appId}/branches/{branchName}/deployments/start",
            responses.start_deployment,
        ),
        Route("GetJob", "GET", "/apps/{appId}/branches/{branchName}/jobs/{jobId}", responses.get_job),
        Route("ListJobs", "GET", "/apps/{appId}/branches/{branchName}/jobs", responses.list_jobs),
        Route(
            "StopJob", "DELETE", "/apps/{appId}/branches/{branchName}/jobs/{jobId}/stop", responses.stop_job
        ),
        # custom domains (domain_responses.py, domains.py)
        Route(
            "CreateDomainAssociation",
            "POST",
            "/apps/{appId}/domains",
            domain_responses.create_domain_association,
        ),
        Route(
            "GetDomainAssociation",
            "GET",
            "/apps/{appId}/domains/{domainName}",
            domain_responses.get_domain_association,
        ),
        Route(
            "ListDomainAssociations",
            "GET",
            "/apps/{appId}/domains",
            domain_responses.list_domain_associations,
        ),
        Route(
            "UpdateDomainAssociation",
            "POST",
            "/apps/{appId}/domains/{domainName}",
            domain_responses.update_domain_association,
        ),
        Route(
            "DeleteDomainAssociation",
            "DELETE",
            "/apps/{appId}/domains/{domainName}",
            domain_responses.delete_domain_association,
        ),
    )
}

AdminFunction = Callable[["AmplifyEmulator", admin.AdminRequest], Response]

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
