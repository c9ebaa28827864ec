"""`AmplifyStaticSite`: an Amplify app with its branches and their deployments, in one construct."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from amplify_deployment.deployment import AmplifyDeployment, UploadMode
from amplify_deployment_handler.rules import BRANCH_NAME_MAX, branch_name_problem

# Amplify's documented rewrite for single-page apps: every path that is not a file with one of these
# extensions serves /index.html with status 200.
SPA_REWRITE_SOURCE = (
    r"</^[^.]+$|\.(?!(css|gif|ico|jpg|jpeg|js|png|txt|svg|woff|woff2|ttf|map|json|webp|avif|xml|webmanifest)$)"
    r"([^.]+$)/>"
)
_WHITESPACE = re.compile(r"\s")


def _custom_headers_yaml(headers: Mapping[str, Mapping[str, str]]) -> str:
    """Amplify's customHeaders YAML; values are JSON-quoted (valid YAML scalars)."""
    lines = ["customHeaders:"]
    for pattern, values in headers.items():
        if not values:
            raise ValueError(f"AmplifyStaticSite: custom_headers[{pattern!r}] has no headers.")
        lines.append(f"  - pattern: {json.dumps(pattern)}")
        lines.append("    headers:")
        for key, value in values.items():
            lines.append(f"      - key: {json.dumps(key)}")
            lines.append(f"        value: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


class AmplifyStaticSite(Construct):
    """A static site on AWS Amplify Hosting from a folder: the app (no repository), its branches and
    a deployment of the folder to each, with CfnOutputs of the app id, default domain and branch URLs.

    ```python
    AmplifyStaticSite(self, "Site", path="./dist", single_page_app=True)
    ```
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        path: str | None = None,
        sources: Sequence[s3deploy.ISource] | None = None,
        branches: Sequence[str] = ("main",),
        app_name: str | None = None,
        single_page_app: bool = False,
        custom_headers: Mapping[str, Mapping[str, str]] | None = None,
        basic_auth_secret: secretsmanager.ISecret | None = None,
        basic_auth_username: str = "admin",
        environment_variables: Mapping[str, str] | None = None,
        upload_mode: UploadMode = UploadMode.ZIP,
        outputs: bool = True,
    ) -> None:
        """
        :param path: the folder (or .zip) holding the built site; same as ``sources=[Source.asset(path)]``.
        :param sources: instead of ``path``, any ``aws_s3_deployment`` sources (merged in order).
        :param branches: the branches to create and deploy to. Default ``["main"]``.
        :param app_name: the Amplify app's name. Default: this construct's path in the stack.
        :param single_page_app: rewrite every path that is not a static file to ``/index.html`` (200).
        :param custom_headers: ``{"<pattern>": {"<header>": "<value>"}}``, e.g.
            ``{"**/*": {"Strict-Transport-Security": "max-age=31536000"}}``.
        :param basic_auth_secret: protect every branch with basic auth; the password is the secret's
            ``password`` JSON key, resolved by CloudFormation (never written into the template).
        :param basic_auth_username: the basic-auth user name. Default ``admin``.
        :param environment_variables: the app's environment variables.
        :param upload_mode: see ``AmplifyDeployment``.
        :param outputs: add CfnOutputs of the app id, default domain and branch URLs. Default true.
        """
        super().__init__(scope, id)
        if (path is None) == (sources is None):
            raise ValueError("AmplifyStaticSite: give exactly one of 'path' or 'sources'.")
        site_sources = list(sources) if sources is not None else [s3deploy.Source.asset(str(path))]
        if not branches:
            raise ValueError("AmplifyStaticSite: 'branches' is empty; give at least one branch name.")
        if len(set(branches)) != len(branches):
            raise ValueError(f"AmplifyStaticSite: duplicate branch names in {list(branches)!r}.")
        for name in branches:
            if not cdk.Token.is_unresolved(name) and (branch_name_problem(name) or _WHITESPACE.search(name)):
                raise ValueError(
                    f"AmplifyStaticSite: invalid branch name {name!r} "
                    f"(1-{BRANCH_NAME_MAX} characters, no spaces)."
                )

        basic_auth = None
        if basic_auth_secret is not None:
            basic_auth = amplify.CfnApp.BasicAuthConfigProperty(
                enable_basic_auth=True,
                username=basic_auth_username,
                # A {{resolve:secretsmanager:...}} dynamic reference: CloudFormation fetches it.
                password=basic_auth_secret.secret_value_from_json("password").unsafe_unwrap(),
            )
        self.app = amplify.CfnApp(
            self,
            "App",
            name=app_name or cdk.Names.unique_id(self)[-255:],
            platform="WEB",
            custom_rules=(
                [
                    amplify.CfnApp.CustomRuleProperty(
                        source=SPA_REWRITE_SOURCE, target="/index.html", status="200"
                    )
                ]
                if single_page_app
                else None
            ),
            custom_headers=_custom_headers_yaml(custom_headers) if custom_headers else None,
            basic_auth_config=basic_auth,
            environment_variables=(
                [
                    amplify.CfnApp.EnvironmentVariableProperty(name=k, value=v)
                    for k, v in environment_variables.items()
                ]
                if environment_variables
                else None
            ),
        )
        self.app_id: str = self.app.attr_app_id
        self.default_domain: str = self.app.attr_default_domain
        self.branches: dict[str, amplify.CfnBranch] = {}
        self.deployments: dict[str, AmplifyDeployment] = {}
        self.branch_urls: dict[str, str] = {}
        for index, name in enumerate(branches):
            suffix = "" if index == 0 else str(index)
            branch = amplify.CfnBranch(self, f"Branch{suffix}", app_id=self.app_id, branch_name=name)
            deployment = AmplifyDeployment(
                self,
                f"Deployment{suffix}",
                app=self.app,
                branch=branch,
                sources=site_sources,
                upload_mode=upload_mode,
            )
            self.branches[name] = branch
            self.deployments[name] = deployment
            self.branch_urls[name] = deployment.branch_url

        if outputs:
            cdk.CfnOutput(self, "AppId", value=self.app_id, description="Amplify app id")
            cdk.CfnOutput(
                self, "DefaultDomain", value=self.default_domain, description="Amplify default domain"
            )
            for index, (name, url) in enumerate(self.branch_urls.items()):
                suffix = "" if index == 0 else str(index)
                cdk.CfnOutput(self, f"BranchUrl{suffix}", value=url, description=f"URL of branch {name}")
