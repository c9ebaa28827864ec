"""The handler function: one per stack and settings (memory, timeout, storage, logs, network)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from amplify_deployment.bundling import HANDLER, handler_code


def nag_rendered(value: object) -> str:
    """A resolved CloudFormation value as cdk-nag's rule ids print it (`<Logical.Attr>`, `<AWS::Region>`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, args),) = value.items()
        if function == "Fn::Join":
            separator, parts = args
            return str(separator).join(nag_rendered(part) for part in parts)
        if function == "Fn::GetAtt":
            return f"<{args[0]}.{args[1]}>"
        if function == "Ref":
            return f"<{args}>"
    return str(value)


_SUBNET_SELECTION_FIELDS = (
    "availability_zones",
    "one_per_az",
    "subnet_filters",
    "subnet_group_name",
    "subnet_type",
    "subnets",
)


@dataclasses.dataclass(frozen=True)
class Network:
    """The handler's VPC settings (None: not in a VPC)."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection | None
    security_groups: list[ec2.ISecurityGroup] | None

    @classmethod
    def of(
        cls,
        vpc: ec2.IVpc | None,
        subnets: ec2.SubnetSelection | None,
        security_groups: list[ec2.ISecurityGroup] | None,
    ) -> Network | None:
        return None if vpc is None else cls(vpc, subnets, security_groups)

    def key(self) -> str:
        """What makes two settings the same: the VPC, the subnets selected, the security groups."""
        # select_subnets takes the SubnetSelection's fields as keyword arguments (jsii structs).
        selection = {f: getattr(self.subnets, f, None) for f in _SUBNET_SELECTION_FIELDS}
        kwargs: dict[str, Any] = {f: v for f, v in selection.items() if v is not None}
        subnets = [s.node.path for s in self.vpc.select_subnets(**kwargs).subnets]
        groups = [g.node.path for g in self.security_groups] if self.security_groups is not None else None
        return json.dumps({"vpc": self.vpc.node.path, "subnets": subnets, "security_groups": groups})


# Lambda creates the function's network interfaces in the VPC with the execution role's permissions
# (the actions of the AWS managed policy AWSLambdaVPCAccessExecutionRole, written inline here).
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]


class HandlerFunction(Construct):
    """One handler function per stack and configuration."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        memory_limit: int,
        timeout: cdk.Duration,
        ephemeral_storage_size: cdk.Size,
        log_retention: logs.RetentionDays,
        role: iam.IRole | None,
        log_group: logs.ILogGroup | None,
        network: Network | None,
    ) -> None:
        super().__init__(scope, id)
        self.log_group: logs.ILogGroup = log_group or logs.LogGroup(
            self, "LogGroup", retention=log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.policy: iam.Policy | None = None
        if role is None:
            role = iam.Role(
                self,
                "Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description="Deploys sites to AWS Amplify Hosting (amplify_deployment)",
            )
            self.policy = iam.Policy(
                self,
                "LogsPolicy",
                roles=[role],
                statements=[
                    iam.PolicyStatement(
                        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                        resources=[self.log_group.log_group_arn],
                    )
                ],
            )
        self.role = role
        vpc_policy = self._grant_network_interfaces(role) if network is not None else None
        self.function = lambda_.Function(
            self,
            "Function",
            description="Deploys sites to AWS Amplify Hosting (amplify_deployment)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=handler_code(),
            memory_size=memory_limit,
            timeout=timeout,
            ephemeral_storage_size=ephemeral_storage_size,
            role=role,
            log_group=self.log_group,
            environment={"AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT": str(int(timeout.to_seconds()))},
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=network.security_groups if network else None,
        )
        if vpc_policy is not None:
            # Lambda checks the role may create network interfaces when the function is created.
            self.function.node.add_dependency(vpc_policy)
        # CloudFormation invokes custom resources asynchronously; a retried invocation could
        # overwrite the content a rollback restored, so Lambda must not retry on its own.
        self.function.configure_async_invoke(retry_attempts=0)

    def _grant_network_interfaces(self, role: iam.IRole) -> iam.Policy:
        policy = iam.Policy(
            self,
            "VpcPolicy",
            roles=[role],
            statements=[iam.PolicyStatement(actions=VPC_ACTIONS, resources=["*"])],
        )
        cdk.Validations.of(policy).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="Lambda creates and deletes the function's network interfaces in the VPC; their ids "
                "are not known in advance and ec2:DescribeNetworkInterfaces takes no resource "
                "(the actions of AWSLambdaVPCAccessExecutionRole).",
            )
        )
        return policy

    @classmethod
    def of(
        cls,
        stack: cdk.Stack,
        *,
        memory_limit: int,
        timeout: cdk.Duration,
        ephemeral_storage_size: cdk.Size,
        log_retention: logs.RetentionDays,
        role: iam.IRole | None,
        log_group: logs.ILogGroup | None = None,
        network: Network | None = None,
    ) -> HandlerFunction:
        parts = [
            str(memory_limit),
            str(timeout.to_seconds()),
            str(ephemeral_storage_size.to_mebibytes()),
            str(log_retention.value),
            role.node.path if role is not None else "",
        ]
        # Added only when set, so the handler of a stack without them keeps its logical ids.
        if log_group is not None:
            parts.append("log_group=" + log_group.node.path)
        if network is not None:
            parts.append("network=" + network.key())
        key = "|".join(parts)
        id = "AmplifyDeploymentHandler" + hashlib.sha256(key.encode()).hexdigest()[:8]
        existing = stack.node.try_find_child(id)
        if isinstance(existing, HandlerFunction):
            return existing
        return cls(
            stack,
            id,
            memory_limit=memory_limit,
            timeout=timeout,
            ephemeral_storage_size=ephemeral_storage_size,
            log_retention=log_retention,
            role=role,
            log_group=log_group,
            network=network,
        )
