"""The `AmplifyDeployment` construct."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from amplify_deployment.handler_function import HandlerFunction, Network, nag_rendered
from amplify_deployment.validation import (
    FilesModeCheck,
    check_pull,
    validate_app_id,
    validate_branch_name,
    validate_key_prefix,
    validate_patterns,
    validate_range,
    validate_vpc,
)
from amplify_deployment_handler.props import branch_url
from amplify_deployment_handler.rules import DEFAULT_FUNCTION_TIMEOUT_S

RESOURCE_TYPE = "Custom::AmplifyDeployment"

DEFAULT_MEMORY_MIB = 512
DEFAULT_TIMEOUT = cdk.Duration.seconds(DEFAULT_FUNCTION_TIMEOUT_S)
DEFAULT_EPHEMERAL_MIB = 2048
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# CloudFormation waits this much longer than the function may run before failing the resource on
# its own (the function answers before its timeout; this bounds a crash that left no answer).
SERVICE_TIMEOUT_MARGIN_SECONDS = 60


class UploadMode(enum.Enum):
    """How the site's bytes reach Amplify."""

    ZIP = "ZIP"
    """One zip PUT to the deployment's `zipUploadUrl` (default). A single zip source without
    deploy-time values streams straight from S3 to Amplify."""

    FILES = "FILES"
    """A `fileMap` of relative path -> md5, then one PUT per file to `fileUploadUrls`. Paths must be
    at most 255 characters."""

    PULL = "PULL"
    """Amplify fetches the source zip itself: StartDeployment with a presigned S3 GET URL of the
    asset (valid until the handler's own deadline plus a minute), no CreateDeployment; the function
    moves no byte of the site. Only for exactly one zip source without deploy-time values (synth
    fails otherwise: use `ZIP`). Not read by the handler, the zip is deployed as it is."""


def branch_url_for(app_id: str, branch_name: str) -> str:
    """`https://<branch, '/' replaced by '-'>.<appId>.amplifyapp.com` for literal values: the URL the
    handler answers as `BranchUrl` (the same function)."""
    return branch_url(app_id, branch_name)


class AmplifyDeployment(Construct):
    """Deploys files to an AWS Amplify Hosting branch whenever the stack is created or updated.

    A Lambda-backed custom resource calls Amplify's CreateDeployment, uploads the sources' files
    from the CDK asset bucket to the returned URL(s), calls StartDeployment and waits until the job
    succeeds. A failed job fails the resource, and Amplify keeps the previous content live.

    Deleting the resource leaves the deployed content in place (Amplify cannot un-deploy; delete
    the app or branch to remove it).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        app: amplify.CfnApp | str,
        branch: amplify.CfnBranch | str,
        sources: Sequence[s3deploy.ISource],
        upload_mode: UploadMode = UploadMode.ZIP,
        memory_limit: int = DEFAULT_MEMORY_MIB,
        timeout: cdk.Duration = DEFAULT_TIMEOUT,
        ephemeral_storage_size: cdk.Size | None = None,
        log_retention: logs.RetentionDays | None = None,
        role: iam.IRole | None = None,
        exclude: Sequence[str] | None = None,
        include: Sequence[str] | None = None,
        destination_key_prefix: str | None = None,
        log_group: logs.ILogGroup | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
    ) -> None:
        """
        :param app: the Amplify app: an ``aws_amplify.CfnApp`` (the deployment then depends on it)
            or an existing app's id (string or token). The app must not be connected to a Git
            repository.
        :param branch: the branch: an ``aws_amplify.CfnBranch`` (the deployment then depends on it)
            or a branch name (string or token) of an existing branch.
        :param sources: one or more ``aws_s3_deployment.Source`` (``asset`` of a folder or zip,
            ``bucket``, ``data``, ``json_data``, ``yaml_data``...). They merge into one site in order;
            a later source wins on the same path. Deploy-time values are substituted in the handler.
        :param upload_mode: ``UploadMode.ZIP`` (default), ``UploadMode.FILES`` or ``UploadMode.PULL``.
        :param memory_limit: the handler's memory in MiB (128-10240). Default 512.
        :param timeout: the handler's timeout (1-15 minutes). Default 15 minutes. The handler
            answers CloudFormation before it, stopping an unfinished Amplify job.
        :param ephemeral_storage_size: the handler's /tmp (512 MiB-10 GiB). Default 2 GiB; used only
            to merge several sources or substitute deploy-time values in ZIP mode.
        :param log_retention: how long the logs of the log group made for the handler are kept.
            Default one month. Not with ``log_group`` (set the retention on that group instead).
        :param role: the handler's execution role. Default: a role made for it, with only the
            permissions it needs.
        :param exclude: glob patterns of files of the merged site not to deploy, as in
            ``BucketDeployment``: matched against the path from the site root, ``*`` also matching
            ``/`` (``"*.map"`` matches ``js/app.js.map``). Default: none.
        :param include: glob patterns of files to deploy even though an ``exclude`` matched them.
            As with ``BucketDeployment`` (``aws s3 sync``), every exclude is evaluated first, then
            every include, and the last pattern that matches a file decides. Default: none.
        :param destination_key_prefix: a folder to deploy the site under, e.g. ``"docs/"``
            (``index.html`` is then served at ``/docs/index.html``). Relative, without ``.`` or
            ``..`` segments. Default: the site root.
        :param log_group: the log group the handler logs to. Default: a group made for the handler,
            kept ``log_retention`` long. Handlers with different log groups are different functions.
        :param vpc: run the handler in this VPC. It must then reach S3 and Amplify: see the README.
            Default: no VPC. Handlers with different VPC settings are different functions.
        :param vpc_subnets: where in ``vpc`` to place the handler. Default: the VPC's private subnets.
        :param security_groups: the handler's security groups. Default: one made for it, allowing
            all outbound traffic.
        """
        super().__init__(scope, id)
        if not sources:
            raise ValueError(
                "AmplifyDeployment: 'sources' is empty; give at least one aws_s3_deployment.Source, "
                "e.g. Source.asset('./site')."
            )
        if not isinstance(upload_mode, UploadMode):
            raise TypeError(f"AmplifyDeployment: upload_mode must be an UploadMode, got {upload_mode!r}.")
        validate_range("memory_limit", memory_limit, 128, 10240, "MiB")
        timeout_seconds = timeout.to_seconds()
        validate_range("timeout", timeout_seconds, 60, DEFAULT_FUNCTION_TIMEOUT_S, "seconds")
        ephemeral = ephemeral_storage_size or cdk.Size.mebibytes(DEFAULT_EPHEMERAL_MIB)
        validate_range("ephemeral_storage_size", ephemeral.to_mebibytes(), 512, 10240, "MiB")
        exclude_list = validate_patterns("exclude", exclude)
        include_list = validate_patterns("include", include)
        key_prefix = validate_key_prefix(destination_key_prefix)
        if log_group is not None and log_retention is not None:
            raise ValueError(
                "AmplifyDeployment: give either 'log_group' or 'log_retention', not both: "
                "'log_retention' applies to the log group made for the handler; set the retention "
                "on your own log group instead."
            )
        security_group_list = validate_vpc(vpc, vpc_subnets, security_groups)

        stack = cdk.Stack.of(self)
        if isinstance(app, amplify.CfnApp):
            self.app_id: str = app.attr_app_id
        elif isinstance(app, str):
            validate_app_id(app)
            self.app_id = app
        else:
            raise TypeError(f"AmplifyDeployment: app must be a CfnApp or an app id string, got {app!r}.")
        if isinstance(branch, amplify.CfnBranch):
            self.branch_name: str = branch.branch_name
        elif isinstance(branch, str):
            self.branch_name = branch
        else:
            raise TypeError(
                f"AmplifyDeployment: branch must be a CfnBranch or a branch name string, got {branch!r}."
            )
        validate_branch_name(self.branch_name)

        handler = HandlerFunction.of(
            stack,
            memory_limit=memory_limit,
            timeout=timeout,
            ephemeral_storage_size=ephemeral,
            log_retention=log_retention or DEFAULT_LOG_RETENTION,
            role=role,
            log_group=log_group,
            network=Network.of(vpc, vpc_subnets, security_group_list),
        )
        self.handler_function: lambda_.IFunction = handler.function

        files_check = (
            FilesModeCheck(exclude_list, include_list, key_prefix)
            if upload_mode is UploadMode.FILES
            else None
        )
        sources_props, read_policy, object_arns = self._bind_sources(sources, handler.role, files_check)
        if upload_mode is UploadMode.PULL:
            check_pull(sources_props, exclude_list, include_list, key_prefix)
        amplify_policy = self._grant_amplify(handler.role, stack)
        properties: dict[str, Any] = {
            "AppId": self.app_id,
            "BranchName": self.branch_name,
            "UploadMode": upload_mode.value,
            "Sources": sources_props,
        }
        # Only when set: a template without them is unchanged (no update of existing resources).
        if exclude_list:
            properties["Exclude"] = exclude_list
        if include_list:
            properties["Include"] = include_list
        if key_prefix:
            properties["DestinationKeyPrefix"] = key_prefix

        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=handler.function.function_arn,
            resource_type=RESOURCE_TYPE,
            service_timeout=cdk.Duration.seconds(timeout_seconds + SERVICE_TIMEOUT_MARGIN_SECONDS),
            properties=properties,
        )
        # The function's permissions must exist before the first deployment runs.
        self.resource.node.add_dependency(read_policy, amplify_policy)
        self._keep_previous_sources_readable(handler.role, object_arns)
        if handler.policy is not None:
            self.resource.node.add_dependency(handler.policy)
        # A CfnApp is referenced through GetAtt already; a branch's name is a literal.
        if isinstance(branch, amplify.CfnBranch):
            self.resource.node.add_dependency(branch)

        self.job_id: str = self.resource.get_att_string("JobId")
        """The Amplify job id of the latest deployment (a token)."""
        if cdk.Token.is_unresolved(self.branch_name):
            # Only the handler can replace '/' in a name that is known at deploy time only.
            self.branch_url: str = self.resource.get_att_string("BranchUrl")
        elif cdk.Token.is_unresolved(self.app_id):
            dashed = self.branch_name.replace("/", "-")
            self.branch_url = cdk.Fn.join("", [f"https://{dashed}.", self.app_id, ".amplifyapp.com"])
        else:
            self.branch_url = branch_url_for(self.app_id, self.branch_name)
        """`https://<branch, '/' replaced by '-'>.<appId>.amplifyapp.com`."""

    def _bind_sources(
        self, sources: Sequence[s3deploy.ISource], role: iam.IRole, files_check: FilesModeCheck | None
    ) -> tuple[list[dict[str, Any]], iam.Policy, list[str]]:
        # Sources grant themselves read access to the whole bucket; bind them to an immutable role
        # (grants to it are dropped) and grant s3:GetObject on exactly their objects instead.
        no_grants = iam.Role.from_role_arn(
            self,
            "SourceBindingRole",
            cdk.Stack.of(self).format_arn(service="iam", region="", resource="role", resource_name="none"),
            mutable=False,
        )
        props: list[dict[str, Any]] = []
        object_arns: list[str] = []
        for source in sources:
            known = set(self.node.children)
            config = source.bind(self, handler_role=no_grants)
            if files_check is not None:
                for child in self.node.children:
                    if child not in known and isinstance(child, s3_assets.Asset):
                        files_check.check(child)
            entry: dict[str, Any] = {
                "BucketName": config.bucket.bucket_name,
                "ObjectKey": config.zip_object_key,
            }
            if config.markers:
                entry["Markers"] = dict(config.markers)
            if config.markers_config and config.markers_config.json_escape:
                entry["MarkersConfig"] = {"JsonEscape": "true"}
            props.append(entry)
            object_arns.append(config.bucket.arn_for_objects(config.zip_object_key))
        policy = iam.Policy(
            self,
            "SourcesReadPolicy",
            roles=[role],
            statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=object_arns)],
        )
        return props, policy, object_arns

    def _keep_previous_sources_readable(self, role: iam.IRole, object_arns: list[str]) -> None:
        """A second s3:GetObject policy on the same objects, updated after the deployment (it depends
        on it): while CloudFormation updates the deployment it still names the previous sources'
        objects (SourcesReadPolicy already names the new ones), so the handler can list the previous
        site's zips and count the files the update adds, changes and removes. The role can read at
        most the current and the previous deployment's source objects, never the whole bucket."""
        previous = iam.Policy(
            self,
            "PreviousSourcesReadPolicy",
            roles=[role],
            statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=list(object_arns))],
        )
        previous.node.add_dependency(self.resource)

    def _grant_amplify(self, role: iam.IRole, stack: cdk.Stack) -> iam.Policy:
        branch_arn = stack.format_arn(
            service="amplify",
            resource="apps",
            resource_name=f"{self.app_id}/branches/{self.branch_name}",
        )
        jobs_arn = f"{branch_arn}/jobs/*"
        policy = iam.Policy(
            self,
            "AmplifyPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "amplify:CreateDeployment",
                        "amplify:StartDeployment",
                        "amplify:ListJobs",
                        "amplify:GetJob",
                        "amplify:StopJob",
                    ],
                    resources=[branch_arn, jobs_arn],
                )
            ],
        )
        # Job ids are only known once a deployment is created: GetJob/StopJob need jobs/* on the branch.
        cdk.Validations.of(policy).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_rendered(stack.resolve(jobs_arn))}]",
                reason="Amplify job ids are known only after CreateDeployment; the wildcard is confined "
                "to the jobs of the one deployed branch.",
            )
        )
        return policy
