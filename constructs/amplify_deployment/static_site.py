"""`AmplifyStaticSite`: an Amplify app with its branches and their deployments, in one construct."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

import aws_cdk as cdk
import constructs
import jsii
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from amplify_deployment.branch_ids import branch_construct_id
from amplify_deployment.custom_rules import CustomRule, as_rule, rule_problem
from amplify_deployment.deployment import AmplifyDeployment, UploadMode
from amplify_deployment.domains import (
    SUB_DOMAINS_MAX,
    Certificate,
    SiteDomain,
    certificate_arn,
    domain_name_problem,
    host_of,
    prefix_problem,
)
from amplify_deployment_handler.rules import BRANCH_NAME_MAX, BRANCH_STAGES, branch_name_problem

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
    a deployment to each, with CfnOutputs of the app id, default domain and branch URLs.

    ```python
    site = AmplifyStaticSite(self, "Site", path="./dist", single_page_app=True)
    # a preview branch with its own content; remove the line to delete the branch (only that one)
    site.add_branch("feature/login", sources=[Source.asset("./dist-login")], stage="DEVELOPMENT")
    ```

    Each branch's construct ids (its branch, deployment and output) derive from its name, never from
    its position: adding or removing a branch leaves every other branch untouched. The first name of
    ``branches`` keeps the ids of earlier versions of this construct (``Branch``, ``Deployment``,
    ``BranchUrl``), so an existing stack's main branch is not replaced; keep it first.
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
        exclude: Sequence[str] | None = None,
        include: Sequence[str] | None = None,
        outputs: bool = True,
        custom_rules: Sequence[CustomRule | Mapping[str, str | None]] | None = None,
        domain: str | SiteDomain | None = None,
    ) -> None:
        """
        :param path: the folder (or .zip) holding the built site; same as ``sources=[Source.asset(path)]``.
            The default content of every branch.
        :param sources: instead of ``path``, any ``aws_s3_deployment`` sources (merged in order).
        :param branches: the branches to create and deploy the default content to. Default
            ``["main"]``. Give ``[]`` to add every branch with ``add_branch``.
        :param app_name: the Amplify app's name. Default: this construct's unique id.
        :param single_page_app: rewrite every path that is not a static file to ``/index.html`` (200).
        :param custom_headers: ``{"<pattern>": {"<header>": "<value>"}}``, e.g.
            ``{"**/*": {"Strict-Transport-Security": "max-age=31536000"}}``.
        :param basic_auth_secret: protect every branch with basic auth; the password is the secret's
            ``password`` JSON key, resolved by CloudFormation (never written into the template).
        :param basic_auth_username: the basic-auth user name. Default ``admin``.
        :param environment_variables: the app's environment variables.
        :param upload_mode: see ``AmplifyDeployment``; the default of every branch.
        :param exclude: see ``AmplifyDeployment``; the default of every branch.
        :param include: see ``AmplifyDeployment``; the default of every branch.
        :param outputs: add CfnOutputs of the app id, default domain and branch URLs. Default true.
        :param custom_rules: redirects and rewrites (``CustomRule`` or ``{"source", "target", "status",
            "condition"}``), applied in this order, before the single-page rewrite. More with
            ``add_custom_rule``.
        :param domain: a custom domain: a name (its apex and ``www`` serve the first branch) or a
            ``SiteDomain``; the same as ``add_domain``. Default: none.
        """
        super().__init__(scope, id)
        if path is not None and sources is not None:
            raise ValueError("AmplifyStaticSite: give 'path' or 'sources', not both.")
        self._default_sources: list[s3deploy.ISource] | None = (
            list(sources)
            if sources is not None
            else [s3deploy.Source.asset(str(path))]
            if path is not None
            else None
        )
        if isinstance(branches, str):
            raise TypeError(f"AmplifyStaticSite: branches must be a list of names, e.g. [{branches!r}].")
        if branches and self._default_sources is None:
            raise ValueError(
                "AmplifyStaticSite: give 'path' or 'sources' (the branches' content), or branches=[] "
                "and add each branch with add_branch(name, sources=...)."
            )
        if len(set(branches)) != len(branches):
            raise ValueError(f"AmplifyStaticSite: duplicate branch names in {list(branches)!r}.")
        self._upload_mode = upload_mode
        self._exclude = exclude
        self._include = include
        self._outputs = outputs
        # The first of `branches` keeps the construct ids earlier versions gave it (and may be a token).
        self._legacy_ids_branch = branches[0] if branches else None

        basic_auth = None
        if basic_auth_secret is not None:
            basic_auth = amplify.CfnApp.BasicAuthConfigProperty(
                enable_basic_auth=True,
                username=basic_auth_username,
                # A {{resolve:secretsmanager:...}} dynamic reference: CloudFormation fetches it.
                password=basic_auth_secret.secret_value_from_json("password").unsafe_unwrap(),
            )
        self._single_page_app = single_page_app
        self.custom_rules: list[CustomRule] = []
        """The rules added with ``custom_rules`` and ``add_custom_rule``, in order (the single-page
        rewrite, when on, comes after them)."""
        self.app = amplify.CfnApp(
            self,
            "App",
            name=app_name or cdk.Names.unique_id(self)[-255:],
            platform="WEB",
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
        """Branch name -> its ``CfnBranch``, in the order added."""
        self.deployments: dict[str, AmplifyDeployment] = {}
        """Branch name -> the ``AmplifyDeployment`` to it."""
        self.branch_urls: dict[str, str] = {}
        """Branch name -> ``https://<branch>.<appId>.amplifyapp.com``."""
        self.domains: dict[str, amplify.CfnDomain] = {}
        """Domain name -> its ``CfnDomain``, in the order added."""
        self.domain_urls: dict[str, str] = {}
        """Host (``www.example.com``) -> ``https://<host>``, for every sub-domain of every domain."""
        self._sub_domains: dict[str, dict[str, str]] = {}  # domain -> {prefix: branch name}
        self.node.add_validation(_Validation(self._domain_problems))
        self._render_rules()
        for rule in custom_rules or ():
            self.add_custom_rule(rule)

        if outputs:
            cdk.CfnOutput(self, "AppId", value=self.app_id, description="Amplify app id")
            cdk.CfnOutput(
                self, "DefaultDomain", value=self.default_domain, description="Amplify default domain"
            )
        for name in branches:
            self.add_branch(name)
        if domain is not None:
            spec = SiteDomain(domain) if isinstance(domain, str) else domain
            if not isinstance(spec, SiteDomain):
                raise TypeError(f"AmplifyStaticSite: domain must be a name or a SiteDomain, got {domain!r}.")
            self.add_domain(
                spec.name,
                sub_domains=spec.sub_domains,
                certificate=spec.certificate,
                auto_sub_domain=spec.auto_sub_domain,
                auto_sub_domain_patterns=spec.auto_sub_domain_patterns or None,
            )

    # ------------------------------------------------------------------ custom rules
    def add_custom_rule(
        self,
        source: str | CustomRule | Mapping[str, str | None],
        target: str | None = None,
        status: str = "301",
        condition: str | None = None,
    ) -> CustomRule:
        """Add a redirect or rewrite rule after the ones already added (and before the single-page
        rewrite): ``add_custom_rule("/old", "/new")`` (301), ``status="200"`` for a rewrite,
        ``add_custom_rule("https://example.com", "https://www.example.com")`` for the apex.

        A status or source that Amplify would refuse or never match fails here (see
        ``custom_rules.rule_problem``).
        """
        if isinstance(source, str):
            if target is None:
                raise TypeError("AmplifyStaticSite.add_custom_rule: give a target.")
            rule = CustomRule(source, target, status, condition)
        else:
            if target is not None:
                raise TypeError("AmplifyStaticSite.add_custom_rule: give a rule, or source and target.")
            rule = as_rule(source)
        problem = rule_problem(rule)
        if problem:
            raise ValueError(f"AmplifyStaticSite: custom rule {len(self.custom_rules)}: {problem}.")
        self.custom_rules.append(rule)
        self._render_rules()
        return rule

    def _render_rules(self) -> None:
        rules: list[cdk.IResolvable | amplify.CfnApp.CustomRuleProperty] = [
            amplify.CfnApp.CustomRuleProperty(
                source=r.source, target=r.target, status=r.status, condition=r.condition
            )
            for r in self.custom_rules
        ]
        if self._single_page_app:
            rules.append(
                amplify.CfnApp.CustomRuleProperty(
                    source=SPA_REWRITE_SOURCE, target="/index.html", status="200"
                )
            )
        self.app.custom_rules = rules or None

    # ------------------------------------------------------------------ domains
    def add_domain(
        self,
        name: str,
        *,
        sub_domains: Mapping[str, str] | None = None,
        certificate: Certificate | None = None,
        auto_sub_domain: bool = False,
        auto_sub_domain_patterns: Sequence[str] | None = None,
    ) -> amplify.CfnDomain:
        """Serve branches under a custom domain (``AWS::Amplify::Domain``); returns its ``CfnDomain``.

        :param name: the domain, e.g. ``example.com`` (a literal: its construct ids derive from it).
        :param sub_domains: ``{prefix: branch name}``: ``""`` is the apex, ``"www"`` is
            ``www.<name>``. A branch is named as in ``add_branch`` (it may be added later). Default:
            the apex and ``www`` on the site's first branch.
        :param certificate: a custom ACM certificate (ARN or ``ICertificate``, in us-east-1).
            Default: Amplify's managed certificate.
        :param auto_sub_domain: ``EnableAutoSubDomain``: Amplify adds sub-domains for the branches it
            connects from a Git repository (this construct's apps have none; map branches with
            ``sub_domains``).
        :param auto_sub_domain_patterns: the branch name patterns for ``auto_sub_domain``.

        The domain's construct id and those of its URL outputs derive from its name and hosts alone,
        so adding or removing a sub-domain changes only this domain's ``SubDomainSettings`` (an update
        in place) and that host's output.
        """
        if not isinstance(name, str) or cdk.Token.is_unresolved(name):
            raise ValueError(
                "AmplifyStaticSite: a domain name must be a literal string (its construct id derives "
                f"from it), got {name!r}."
            )
        problem = domain_name_problem(name)
        if problem:
            raise ValueError(f"AmplifyStaticSite: invalid domain {name!r}: {problem}.")
        domain = name.rstrip(".").lower()
        if domain in self.domains:
            raise ValueError(f"AmplifyStaticSite: domain {domain!r} was already added.")
        if sub_domains is None:
            first = next(iter(self.branches), None)
            if first is None:
                raise ValueError(
                    f"AmplifyStaticSite: domain {domain!r}: give sub_domains={{prefix: branch}} (the site "
                    "has no branch yet to serve the apex and www)."
                )
            sub_domains = {"": first, "www": first}
        if not isinstance(sub_domains, Mapping) or not sub_domains:
            raise ValueError(
                f"AmplifyStaticSite: domain {domain!r}: sub_domains is a non-empty "
                "{prefix: branch} mapping."
            )
        if len(sub_domains) > SUB_DOMAINS_MAX:
            raise ValueError(f"AmplifyStaticSite: domain {domain!r}: at most {SUB_DOMAINS_MAX} sub-domains.")
        mapped: dict[str, str] = {}
        taken = {host_of(p, d) for d, subs in self._sub_domains.items() for p in subs}
        for prefix, branch in sub_domains.items():
            problem = prefix_problem(prefix)
            if problem:
                raise ValueError(f"AmplifyStaticSite: domain {domain!r}: prefix {prefix!r}: {problem}.")
            if not isinstance(branch, str) or not branch:
                raise ValueError(
                    f"AmplifyStaticSite: domain {domain!r}: prefix {prefix!r} maps to {branch!r}; give a "
                    "branch name."
                )
            key = prefix.lower()
            host = host_of(key, domain)
            if key in mapped or host in taken:
                raise ValueError(
                    f"AmplifyStaticSite: domain {domain!r}: {host} is mapped twice; map each host to "
                    "one branch."
                )
            mapped[key] = branch
        arn = certificate_arn(certificate) if certificate is not None else None
        patterns = list(auto_sub_domain_patterns) if auto_sub_domain_patterns else None
        if patterns and not auto_sub_domain:
            raise ValueError(
                f"AmplifyStaticSite: domain {domain!r}: auto_sub_domain_patterns needs auto_sub_domain=True."
            )

        suffix = "-" + branch_construct_id(domain)
        self._sub_domains[domain] = mapped
        resource = amplify.CfnDomain(
            self,
            f"Domain{suffix}",
            app_id=self.app_id,
            domain_name=domain,
            sub_domain_settings=self._sub_domain_settings(domain),
            enable_auto_sub_domain=True if auto_sub_domain else None,
            auto_sub_domain_creation_patterns=patterns,
            certificate_settings=(
                amplify.CfnDomain.CertificateSettingsProperty(
                    certificate_type="CUSTOM", custom_certificate_arn=arn
                )
                if arn is not None
                else None
            ),
        )
        self.domains[domain] = resource
        for prefix, branch in mapped.items():
            host = host_of(prefix, domain)
            self.domain_urls[host] = f"https://{host}"
            if self._outputs:
                cdk.CfnOutput(
                    self,
                    f"DomainUrl-{branch_construct_id(host)}",
                    value=f"https://{host}",
                    description=f"URL of {host} (branch {branch}), once the domain is verified",
                )
        if self._outputs:
            cdk.CfnOutput(
                self,
                f"DomainStatus{suffix}",
                value=resource.attr_domain_status,
                description=f"status of {domain} when deployed (PENDING_VERIFICATION: add the DNS records)",
            )
            cdk.CfnOutput(
                self,
                f"DomainCertificateRecord{suffix}",
                value=resource.attr_certificate_record,
                description=f"the DNS record that verifies {domain} (add it where its DNS is hosted)",
            )
        return resource

    def _sub_domain_settings(
        self, domain: str
    ) -> list[cdk.IResolvable | amplify.CfnDomain.SubDomainSettingProperty]:
        """SubDomainSettings: each branch by ``Fn::GetAtt BranchName`` of its ``CfnBranch`` (so the
        domain is created after its branches), or as written while it is not added yet (``add_branch``
        renders them again; ``_domain_problems`` fails synth for a name never added)."""
        settings: list[cdk.IResolvable | amplify.CfnDomain.SubDomainSettingProperty] = []
        for prefix, branch in self._sub_domains[domain].items():
            known = self.branches.get(branch)
            settings.append(
                amplify.CfnDomain.SubDomainSettingProperty(
                    prefix=prefix, branch_name=known.attr_branch_name if known else branch
                )
            )
        return settings

    def _domain_problems(self) -> list[str]:
        problems = []
        for domain, subs in self._sub_domains.items():
            for prefix, branch in subs.items():
                if branch not in self.branches:
                    problems.append(
                        f"AmplifyStaticSite: domain {domain!r}: {host_of(prefix, domain)} maps to branch "
                        f"{branch!r}, which is not a branch of this site (add it with add_branch, or map "
                        f"one of: {', '.join(map(repr, self.branches)) or 'none'})."
                    )
        return problems

    def add_branch(
        self,
        name: str,
        *,
        sources: Sequence[s3deploy.ISource] | None = None,
        stage: str | None = None,
        upload_mode: UploadMode | None = None,
        exclude: Sequence[str] | None = None,
        include: Sequence[str] | None = None,
    ) -> AmplifyDeployment:
        """Add a branch with its own content and stage; returns its deployment.

        Its construct ids derive from ``name`` alone (``branch_construct_id``), so adding or removing
        this line touches no other branch.

        :param name: the branch name (1-255 characters, no spaces; may contain ``/``). A literal.
        :param sources: this branch's content. Default: the site's ``path``/``sources``.
        :param stage: the branch's stage: ``PRODUCTION``, ``BETA``, ``DEVELOPMENT``, ``EXPERIMENTAL``
            or ``PULL_REQUEST``. Default: none.
        :param upload_mode: default: the site's ``upload_mode``.
        :param exclude: default: the site's ``exclude``.
        :param include: default: the site's ``include``.
        """
        if not isinstance(name, str):
            raise TypeError(f"AmplifyStaticSite: a branch name must be a string, got {name!r}.")
        # Only the constructor adds that name: a second add of it fails below as already added.
        legacy_ids = name == self._legacy_ids_branch
        if cdk.Token.is_unresolved(name):
            if not legacy_ids:
                raise ValueError(
                    "AmplifyStaticSite: a branch's construct ids derive from its name, so the name must be "
                    "a literal string, not a token; for a name known only at deploy time use "
                    "AmplifyDeployment with your own CfnBranch."
                )
        elif branch_name_problem(name) or _WHITESPACE.search(name):
            raise ValueError(
                f"AmplifyStaticSite: invalid branch name {name!r} "
                f"(1-{BRANCH_NAME_MAX} characters, no spaces)."
            )
        if name in self.branches:
            raise ValueError(f"AmplifyStaticSite: branch {name!r} was already added.")
        content = list(sources) if sources is not None else self._default_sources
        if not content:
            raise ValueError(
                f"AmplifyStaticSite: branch {name!r} has no content: give it sources, or give the site "
                "'path' or 'sources'."
            )
        stage = _validate_stage(name, stage)

        suffix = "" if legacy_ids else "-" + branch_construct_id(name)
        taken = next(
            (c for c in (f"Branch{suffix}", f"Deployment{suffix}") if self.node.try_find_child(c)), None
        )
        if taken is not None:
            raise ValueError(
                f"AmplifyStaticSite: branch {name!r} would take the construct id {taken!r} of another "
                "branch; rename one of them."
            )
        branch = amplify.CfnBranch(self, f"Branch{suffix}", app_id=self.app_id, branch_name=name, stage=stage)
        deployment = AmplifyDeployment(
            self,
            f"Deployment{suffix}",
            app=self.app,
            branch=branch,
            sources=content,
            upload_mode=upload_mode or self._upload_mode,
            exclude=exclude if exclude is not None else self._exclude,
            include=include if include is not None else self._include,
        )
        self.branches[name] = branch
        self.deployments[name] = deployment
        self.branch_urls[name] = deployment.branch_url
        for domain, subs in self._sub_domains.items():
            if name in subs.values():
                self.domains[domain].sub_domain_settings = self._sub_domain_settings(domain)
        if self._outputs:
            cdk.CfnOutput(
                self, f"BranchUrl{suffix}", value=deployment.branch_url, description=f"URL of branch {name}"
            )
        return deployment


@jsii.implements(constructs.IValidation)
class _Validation:
    def __init__(self, validate: Callable[[], list[str]]) -> None:
        self._validate = validate

    def validate(self) -> list[str]:
        return self._validate()


def _validate_stage(name: str, stage: str | None) -> str | None:
    if stage is None or (isinstance(stage, str) and cdk.Token.is_unresolved(stage)):
        return stage
    if not isinstance(stage, str) or stage.upper() not in BRANCH_STAGES:
        raise ValueError(
            f"AmplifyStaticSite: branch {name!r}: stage must be one of "
            f"{', '.join(BRANCH_STAGES)}, got {stage!r}."
        )
    return stage.upper()
