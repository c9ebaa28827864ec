"""AmplifyStaticSite: app, branches, deployments and outputs from one construct."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import assertions
from aws_cdk import aws_secretsmanager as secretsmanager

from amplify_deployment import AmplifyStaticSite, UploadMode


@pytest.fixture
def site_dir(tmp_path):
    (tmp_path / "index.html").write_text("<h1>spa</h1>")
    return str(tmp_path)


def synth(build) -> tuple[cdk.Stack, assertions.Template]:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    build(stack)
    return stack, assertions.Template.from_stack(stack)


def test_app_branches_deployments_and_outputs(site_dir):
    holder = {}

    def build(stack):
        holder["site"] = AmplifyStaticSite(stack, "Site", path=site_dir, branches=["main", "preview/x"])

    stack, template = synth(build)
    site = holder["site"]
    template.has_resource_properties("AWS::Amplify::App", {"Platform": "WEB"})
    app = next(iter(template.find_resources("AWS::Amplify::App").values()))
    assert "Repository" not in app["Properties"] and "BasicAuthConfig" not in app["Properties"]
    template.resource_count_is("AWS::Amplify::Branch", 2)
    template.resource_count_is("Custom::AmplifyDeployment", 2)
    template.resource_count_is("AWS::Lambda::Function", 1)
    outputs = template.to_json()["Outputs"]
    descriptions = sorted(o["Description"] for o in outputs.values())
    assert descriptions == [
        "Amplify app id",
        "Amplify default domain",
        "URL of branch main",
        "URL of branch preview/x",
    ]
    assert "https://preview-x." in json.dumps(stack.resolve(site.branch_urls["preview/x"]))
    assert set(site.deployments) == {"main", "preview/x"}


def test_spa_headers_env_and_basic_auth_from_secret(site_dir):
    def build(stack):
        secret = secretsmanager.Secret(stack, "Auth")
        AmplifyStaticSite(
            stack,
            "Site",
            path=site_dir,
            single_page_app=True,
            custom_headers={
                "**/*": {"Strict-Transport-Security": "max-age=31536000", "X-Frame-Options": "DENY"}
            },
            basic_auth_secret=secret,
            environment_variables={"STAGE": "prod"},
            upload_mode=UploadMode.FILES,
        )

    _, template = synth(build)
    props = next(iter(template.find_resources("AWS::Amplify::App").values()))["Properties"]
    (rule,) = props["CustomRules"]
    assert (
        rule["Target"] == "/index.html" and rule["Status"] == "200" and rule["Source"].startswith("</^[^.]+$")
    )
    headers = yaml.safe_load(props["CustomHeaders"])["customHeaders"]
    assert headers == [
        {
            "pattern": "**/*",
            "headers": [
                {"key": "Strict-Transport-Security", "value": "max-age=31536000"},
                {"key": "X-Frame-Options", "value": "DENY"},
            ],
        }
    ]
    assert props["EnvironmentVariables"] == [{"Name": "STAGE", "Value": "prod"}]
    auth = props["BasicAuthConfig"]
    assert auth["EnableBasicAuth"] is True and auth["Username"] == "admin"
    # The password is a dynamic reference CloudFormation resolves, never a literal in the template.
    password = json.dumps(auth["Password"])
    assert "{{resolve:secretsmanager:" in password and ":SecretString:password::}}" in password
    template.has_resource_properties("Custom::AmplifyDeployment", {"UploadMode": "FILES"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give 'path' or 'sources' \\(the branches' content\\), or branches=\\[\\]"),
        ({"path": "x", "sources": []}, "give 'path' or 'sources', not both"),
        ({"path": "SITE", "branches": ["a", "a"]}, "duplicate branch names"),
        ({"path": "SITE", "branches": ["has space"]}, "invalid branch name"),
        ({"path": "SITE", "custom_headers": {"*": {}}}, "has no headers"),
    ],
)
def test_bad_input_fails_synth(site_dir, kwargs, message):
    if kwargs.get("path") == "SITE":
        kwargs["path"] = site_dir
    with pytest.raises(ValueError, match=message):
        synth(lambda stack: AmplifyStaticSite(stack, "Site", **kwargs))
