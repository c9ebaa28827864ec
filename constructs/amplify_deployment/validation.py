"""Synth-time checks of `AmplifyDeployment`'s props: each error names the prop and what to do."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3_assets as s3_assets

from amplify_deployment_handler.props import PULL, DeploymentProps
from amplify_deployment_handler.props import Source as HandlerSource
from amplify_deployment_handler.pull import pull_problem
from amplify_deployment_handler.rules import (
    APP_ID_MAX,
    APP_ID_PATTERN,
    BRANCH_NAME_MAX,
    FILE_NAME_MAX,
    app_id_problem,
    branch_name_problem,
)
from amplify_deployment_handler.site_paths import (
    SiteFilter,
    key_prefix_problem,
    normalize_key_prefix,
    pattern_problem,
)

MAX_FILE_PATH = FILE_NAME_MAX


def validate_app_id(app_id: str) -> None:
    if cdk.Token.is_unresolved(app_id):
        return
    if app_id_problem(app_id):
        raise ValueError(
            f"AmplifyDeployment: app id {app_id!r} is not a valid Amplify app id "
            f"(2-{APP_ID_MAX} characters matching {APP_ID_PATTERN}, e.g. 'd1a2b3c4d5e6f7'); "
            "pass the id shown in the Amplify console or an aws_amplify.CfnApp."
        )


def validate_branch_name(branch_name: str) -> None:
    if cdk.Token.is_unresolved(branch_name):
        return
    if branch_name_problem(branch_name):
        raise ValueError(
            f"AmplifyDeployment: branch name must be 1-{BRANCH_NAME_MAX} characters, got {len(branch_name)}."
        )


def validate_range(name: str, value: float, low: float, high: float, unit: str) -> None:
    if not low <= value <= high:
        raise ValueError(f"AmplifyDeployment: {name} must be {low:g}-{high:g} {unit}, got {value:g}.")


# The handler's reasons name CloudFormation properties; a synth error names the construct's props.
_PYTHON_TERMS = (
    ("UploadMode ZIP", "UploadMode.ZIP"),
    ("UploadMode PULL", "UploadMode.PULL"),
    (
        "(Sources[0] has Markers)",
        "(the source holds tokens, e.g. Source.json_data with a resource attribute)",
    ),
    ("Exclude, Include or DestinationKeyPrefix", "exclude, include or destination_key_prefix"),
)


def check_pull(
    sources_props: list[dict[str, Any]], exclude: Sequence[str], include: Sequence[str], key_prefix: str
) -> None:
    """PULL mode hands Amplify one zip as it is. Its conditions are the handler's own
    (`pull.pull_problem`, checked again at deploy time), asked here of the properties the construct
    renders, so synth fails first."""
    sources = tuple(
        HandlerSource(
            bucket=s["BucketName"],
            key=s["ObjectKey"],
            # Only whether there are markers matters here; their values are tokens until deploy time.
            markers=tuple((marker.encode(), b"") for marker in s.get("Markers", {})),
        )
        for s in sources_props
    )
    props = DeploymentProps(
        app_id="",
        branch_name="",
        upload_mode=PULL,
        sources=sources,
        exclude=tuple(exclude),
        include=tuple(include),
        key_prefix=key_prefix,
    )
    problem = pull_problem(props)
    if problem:
        for handler_term, python_term in _PYTHON_TERMS:
            problem = problem.replace(handler_term, python_term)
        raise ValueError(f"AmplifyDeployment: {problem}.")


def validate_patterns(name: str, patterns: Sequence[str] | None) -> list[str]:
    if patterns is None:
        return []
    if isinstance(patterns, str) or not isinstance(patterns, Sequence):
        raise TypeError(
            f"AmplifyDeployment: {name} must be a list of glob patterns, e.g. ['*.map'], got {patterns!r}."
        )
    for pattern in patterns:
        if isinstance(pattern, str) and cdk.Token.is_unresolved(pattern):
            continue
        problem = pattern_problem(pattern)
        if problem:
            raise ValueError(f"AmplifyDeployment: {name} pattern {pattern!r} {problem}.")
    return list(patterns)


def validate_key_prefix(prefix: str | None) -> str:
    if prefix is None or prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise TypeError(f"AmplifyDeployment: destination_key_prefix must be a string, got {prefix!r}.")
    if cdk.Token.is_unresolved(prefix):
        return prefix  # checked and normalised by the handler
    problem = key_prefix_problem(prefix)
    if problem:
        raise ValueError(f"AmplifyDeployment: destination_key_prefix {prefix!r} {problem}.")
    return normalize_key_prefix(prefix)


def validate_vpc(
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
) -> list[ec2.ISecurityGroup] | None:
    if vpc is None:
        given = [
            n
            for n, v in (("vpc_subnets", vpc_subnets), ("security_groups", security_groups))
            if v is not None
        ]
        if given:
            raise ValueError(
                f"AmplifyDeployment: {' and '.join(given)} given without 'vpc'; pass the VPC too."
            )
        return None
    if security_groups is None:
        return None
    if not isinstance(security_groups, (list, tuple)):
        raise TypeError("AmplifyDeployment: security_groups must be a list of ec2.ISecurityGroup.")
    if not security_groups:
        raise ValueError(
            "AmplifyDeployment: security_groups is empty; leave it out to get a security group made "
            "for the handler, or give at least one."
        )
    return list(security_groups)


class FilesModeCheck:
    """FILES mode: Amplify's fileMap keys are at most 255 characters; check what synth can see (the
    files of local assets, after the filters, under the prefix)."""

    def __init__(self, exclude: Sequence[str], include: Sequence[str], key_prefix: str) -> None:
        # Patterns known only at deploy time: which files remain is unknown, the handler checks.
        self.skip = any(cdk.Token.is_unresolved(p) for p in [*exclude, *include])
        self.site_filter = SiteFilter(exclude, include)
        # A prefix known only at deploy time: the paths alone are a lower bound of the length.
        self.prefix = "" if cdk.Token.is_unresolved(key_prefix) else key_prefix

    def check(self, asset: s3_assets.Asset) -> None:
        if self.skip:
            return
        path = Path(asset.asset_path)
        stage = cdk.Stage.of(asset)
        if not path.is_absolute() and stage is not None:
            path = Path(stage.outdir) / path
        if path.is_dir():
            names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
        else:
            return
        names = [self.prefix + n for n in self.site_filter.select(names)]
        too_long = sorted((n for n in names if len(n) > MAX_FILE_PATH), key=len)
        if too_long:
            under = f" under the prefix {self.prefix!r}" if self.prefix else ""
            raise ValueError(
                f"AmplifyDeployment: {len(too_long)} file path(s){under} exceed {MAX_FILE_PATH} "
                f"characters, which UploadMode.FILES cannot deploy (e.g. {too_long[0][:80]!r}...); "
                "shorten them, exclude them or use UploadMode.ZIP."
            )
