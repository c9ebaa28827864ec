"""The records of the emulated service's state: apps and their branches (each branch holds its jobs,
see jobs.py), and their plain-data form in ``state.json``. The rules that change them are in models.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .domains import DomainAssociation, domain_from_dict
from .jobs import Job
from .store import branch_key

ACCOUNT_ID = "123456789012"
PLATFORMS = ("WEB", "WEB_DYNAMIC", "WEB_COMPUTE")
STAGES = ("PRODUCTION", "BETA", "DEVELOPMENT", "EXPERIMENTAL", "PULL_REQUEST")
#: an app's ARN, or a branch's (its name quoted, as ``branchArn`` shows it)
ARN_RE = re.compile(
    rf"^arn:aws:amplify:(?P<region>[a-z0-9-]+):{ACCOUNT_ID}:apps/(?P<app>[^/]+)(?:/branches/(?P<branch>[^/]+))?$"
)


@dataclass(kw_only=True)
class Hosted:
    """What apps and branches both have: times, tags, and the settings both levels carry (a branch's
    basic auth, environment variables and build spec apply on top of its app's)."""

    create_time: float
    update_time: float
    description: str = ""
    environment_variables: dict[str, str] = field(default_factory=dict)
    enable_basic_auth: bool = False
    basic_auth_credentials: str = ""
    build_spec: str = ""
    compute_role_arn: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(kw_only=True)
class Branch(Hosted):
    app_id: str
    branch_name: str
    stage: str = "NONE"
    framework: str = ""
    display_name: str = ""
    enable_auto_build: bool = True
    enable_notification: bool = False
    enable_pull_request_preview: bool = False
    enable_performance_mode: bool = False
    enable_skew_protection: bool = False
    pull_request_environment_name: str = ""
    backend_environment_arn: str = ""
    ttl: str = "5"
    jobs: dict[int, Job] = field(default_factory=dict)
    next_job_id: int = 1
    live_job_id: int | None = None

    @property
    def key(self) -> str:
        return branch_key(self.branch_name)

    def last_job(self) -> Job | None:
        return self.jobs[max(self.jobs)] if self.jobs else None


@dataclass(kw_only=True)
class App(Hosted):
    app_id: str
    name: str
    region: str
    repository: str = ""
    platform: str = "WEB"
    enable_branch_auto_build: bool = False
    enable_branch_auto_deletion: bool = False
    custom_rules: list[dict[str, str]] = field(default_factory=list)
    custom_headers: str = ""
    iam_service_role_arn: str = ""
    job_config: dict[str, Any] | None = None
    cache_config: dict[str, Any] | None = None
    branches: dict[str, Branch] = field(default_factory=dict)
    #: custom domains (domains.py), by domain name, in the order created
    domains: dict[str, DomainAssociation] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:amplify:{self.region}:{ACCOUNT_ID}:apps/{self.app_id}"


#: what CreateApp/UpdateApp and CreateBranch/UpdateBranch set: {attribute: value} of App / Branch. An
#: attribute the request leaves out is absent and stays as it is; "" / {} / [] clear it (assumption).
Settings = dict[str, Any]


def app_from_dict(data: dict[str, Any]) -> App:
    branches = {}
    for name, b in data.pop("branches").items():
        jobs = {int(k): Job(**v) for k, v in b.pop("jobs").items()}
        branches[name] = Branch(jobs=jobs, **b)
    domains = {k: domain_from_dict(v) for k, v in data.pop("domains", {}).items()}
    return App(branches=branches, domains=domains, **data)


def parse_arn(arn: str) -> tuple[str, str, str | None] | None:
    """(Region, app id, branch name or None) of an app's or a branch's ARN, or None."""
    m = ARN_RE.match(arn)
    if m is None:
        return None
    branch = m.group("branch")
    return m.group("region"), m.group("app"), None if branch is None else unquote(branch)
