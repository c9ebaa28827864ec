"""The example stack's template, asserted on CDK's own synth output."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_amplify as amplify
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment, UploadMode

REPO = Path(__file__).resolve().parents[2]

# Every action the handler role is granted (a PULL deployment needs no other).
HANDLER_ACTIONS = {
    "s3:GetObject",
    "amplify:CreateDeployment",
    "amplify:StartDeployment",
    "amplify:ListJobs",
    "amplify:GetJob",
    "amplify:StopJob",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}


def load_example_module():
    spec = importlib.util.spec_from_file_location("example_app", REPO / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = load_example_module().ExampleSiteStack(app, "AmplifyDeploymentExample")
    assembly = app.synth()
    return stack, assertions.Template.from_stack(stack), assembly


def only(template: assertions.Template, type_: str) -> tuple[str, dict]:
    found = template.find_resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def test_custom_resource_properties(example):
    _, template, _ = example
    logical_id, resource = only(template, "Custom::AmplifyDeployment")
    props = resource["Properties"]
    assert props["AppId"] == {"Fn::GetAtt": ["App", "AppId"]}
    assert props["BranchName"] == "main"
    assert props["UploadMode"] == "ZIP"
    assert props["ServiceToken"]["Fn::GetAtt"][1] == "Arn"
    # Never the hour: CloudFormation fails the resource one minute after the function's timeout.
    assert props["ServiceTimeout"] == "960"
    site, config = props["Sources"]
    assert site["ObjectKey"].endswith(".zip") and "Markers" not in site
    assert site["BucketName"] == {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}
    # config.json carries deploy-time values: the app id and the region.
    markers = json.dumps(config["Markers"])
    assert '"App", "AppId"' in markers and "AWS::Region" in markers
    assert "Main" in resource["DependsOn"]


def test_handler_function_settings(example):
    _, template, _ = example
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Handler": "amplify_deployment_handler.index.handler",
            "MemorySize": 512,
            "Timeout": 900,
            "EphemeralStorage": {"Size": 2048},
            "Environment": {"Variables": {"AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT": "900"}},
        },
    )
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0})
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_code_asset_bundles_handler_and_crhelper(example):
    stack, template, assembly = example
    _, function = only(template, "AWS::Lambda::Function")
    key = function["Properties"]["Code"]["S3Key"]
    asset_dir = Path(assembly.directory) / ("asset." + key.removesuffix(".zip"))
    names = sorted(str(p.relative_to(asset_dir)) for p in asset_dir.rglob("*") if p.is_file())
    assert "amplify_deployment_handler/index.py" in names
    assert "crhelper/resource_helper.py" in names and "crhelper/utils.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def all_statements(template: assertions.Template) -> list[dict]:
    statements = []
    for _, policy in template.find_resources("AWS::IAM::Policy").items():
        statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_least_privilege(example):
    _, template, _ = example
    statements = all_statements(template)
    by_action: dict[str, list] = {}
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert "*" not in resources
        for action in actions:
            by_action.setdefault(action, []).extend(resources)
    assert set(by_action) == HANDLER_ACTIONS
    # s3:GetObject on exactly the two source objects, not on the bucket (in two policies: the
    # second, updated after the deployment, still names the previous objects during an update).
    s3_resources = {json.dumps(r, sort_keys=True) for r in by_action["s3:GetObject"]}
    assert len(s3_resources) == 2 and all(".zip" in r and "/*" not in r for r in s3_resources)
    amplify_resources = json.dumps(by_action["amplify:StartDeployment"])
    assert "/branches/main" in amplify_resources and '"App", "AppId"' in amplify_resources


def test_the_previous_sources_stay_readable_while_the_deployment_updates(example):
    """SourcesReadPolicy (the new objects) is updated before the deployment, which depends on it;
    PreviousSourcesReadPolicy (the same objects) depends on the deployment, so CloudFormation updates
    it after: during the deployment's Update the role can also read the previous objects, which the
    handler lists to count the files added, changed and removed."""
    _, template, _ = example
    (deployment_id, deployment) = next(iter(template.find_resources("Custom::AmplifyDeployment").items()))
    policies = template.find_resources("AWS::IAM::Policy")
    (current_id,) = [k for k in policies if "SourcesReadPolicy" in k and "Previous" not in k]
    (previous_id,) = [k for k in policies if "PreviousSourcesReadPolicy" in k]
    assert current_id in deployment["DependsOn"] and previous_id not in deployment["DependsOn"]
    assert deployment_id in policies[previous_id]["DependsOn"]
    current, previous = (policies[k]["Properties"] for k in (current_id, previous_id))
    assert previous["PolicyDocument"] == current["PolicyDocument"]
    assert previous["Roles"] == current["Roles"]


def test_outputs_branch_url(example):
    _, template, _ = example
    outputs = template.find_outputs("BranchUrl")
    value = json.dumps(outputs["BranchUrl"]["Value"])
    assert "https://main." in value and ".amplifyapp.com" in value and '"App", "AppId"' in value


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account="123456789012", region="eu-west-1"))


def test_literal_app_and_branch_give_literal_url_and_files_mode():
    stack = new_stack()
    deployment = AmplifyDeployment(
        stack,
        "D",
        app="d1a2b3c4",
        branch="feature/new-look",
        sources=[s3deploy.Source.data("index.html", "<h1>hi</h1>")],
        upload_mode=UploadMode.FILES,
    )
    assert deployment.branch_url == "https://feature-new-look.d1a2b3c4.amplifyapp.com"
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "Custom::AmplifyDeployment",
        {"AppId": "d1a2b3c4", "BranchName": "feature/new-look", "UploadMode": "FILES"},
    )


def test_one_handler_per_stack_and_configuration():
    stack = new_stack()
    for name in ("A", "B"):
        AmplifyDeployment(
            stack, name, app="d1", branch=name.lower(), sources=[s3deploy.Source.data("a", "b")]
        )
    AmplifyDeployment(
        stack, "Big", app="d1", branch="big", sources=[s3deploy.Source.data("a", "b")], memory_limit=2048
    )
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("Custom::AmplifyDeployment", 3)
    template.resource_count_is("AWS::Lambda::Function", 2)
    template.resource_count_is("AWS::Lambda::EventInvokeConfig", 2)


def test_given_role_is_used_and_granted():
    stack = new_stack()
    role = iam.Role(stack, "MyRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    AmplifyDeployment(
        stack, "D", app="d1", branch="main", sources=[s3deploy.Source.data("a", "b")], role=role
    )
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Role", 1)
    _, function = only(template, "AWS::Lambda::Function")
    assert function["Properties"]["Role"]["Fn::GetAtt"][0].startswith("MyRole")


def test_cfn_app_and_branch_objects_make_dependencies():
    stack = new_stack()
    app = amplify.CfnApp(stack, "App", name="x")
    branch = amplify.CfnBranch(stack, "Branch", app_id=app.attr_app_id, branch_name="main")
    AmplifyDeployment(stack, "D", app=app, branch=branch, sources=[s3deploy.Source.data("a", "b")])
    _, resource = only(assertions.Template.from_stack(stack), "Custom::AmplifyDeployment")
    assert "Branch" in resource["DependsOn"]
    assert resource["Properties"]["AppId"] == {"Fn::GetAtt": ["App", "AppId"]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sources": []}, "'sources' is empty"),
        ({"app": "D123"}, "not a valid Amplify app id"),
        ({"app": "x1"}, "not a valid Amplify app id"),
        ({"app": "d"}, "not a valid Amplify app id"),  # the handler and Amplify refuse it too
        ({"app": "d" + "1" * 20}, "not a valid Amplify app id"),
        ({"branch": ""}, "branch name must be 1-255 characters"),
        ({"branch": "b" * 256}, "branch name must be 1-255 characters"),
        ({"memory_limit": 64}, "memory_limit must be 128-10240 MiB"),
        ({"timeout": cdk.Duration.minutes(16)}, "timeout must be 60-900 seconds"),
        ({"ephemeral_storage_size": cdk.Size.gibibytes(11)}, "ephemeral_storage_size must be 512-10240 MiB"),
        ({"upload_mode": "ZIP"}, "upload_mode must be an UploadMode"),
    ],
)
def test_synth_time_errors(kwargs, message):
    props = {"app": "d1", "branch": "main", "sources": [s3deploy.Source.data("a", "b")], **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        AmplifyDeployment(new_stack(), "D", **props)


def test_tokens_are_not_validated_at_synth():
    stack = new_stack()
    app_id = cdk.CfnParameter(stack, "AppId").value_as_string
    branch = cdk.CfnParameter(stack, "Branch").value_as_string
    deployment = AmplifyDeployment(
        stack, "D", app=app_id, branch=branch, sources=[s3deploy.Source.data("a", "b")]
    )
    assert cdk.Token.is_unresolved(deployment.branch_url)
    assert stack.resolve(deployment.branch_url)["Fn::GetAtt"][1] == "BranchUrl"


def test_files_mode_rejects_long_paths_at_synth(tmp_path):
    site = tmp_path / "site"
    deep = site / ("d" * 200) / ("f" * 60)
    deep.parent.mkdir(parents=True)
    deep.write_text("x")
    (site / "index.html").write_text("ok")
    with pytest.raises(ValueError, match="1 file path\\(s\\) exceed 255 characters"):
        AmplifyDeployment(
            new_stack(),
            "D",
            app="d1",
            branch="main",
            sources=[s3deploy.Source.asset(str(site))],
            upload_mode=UploadMode.FILES,
        )
    # ZIP mode has no such limit; the same folder synthesizes.
    AmplifyDeployment(new_stack(), "D", app="d1", branch="main", sources=[s3deploy.Source.asset(str(site))])


def test_files_mode_checks_zip_assets_too(tmp_path):
    import zipfile

    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", "ok")
        z.writestr("a/" + "b" * 260, "x")
    with pytest.raises(ValueError, match="exceed 255 characters"):
        AmplifyDeployment(
            new_stack(),
            "D",
            app="d1",
            branch="main",
            sources=[s3deploy.Source.asset(str(archive))],
            upload_mode=UploadMode.FILES,
        )


def test_pull_mode_needs_no_new_permission(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("pulled")
    stack = new_stack()
    AmplifyDeployment(
        stack,
        "D",
        app="d1",
        branch="main",
        sources=[s3deploy.Source.asset(str(site))],
        upload_mode=UploadMode.PULL,
    )
    template = assertions.Template.from_stack(stack)
    _, resource = only(template, "Custom::AmplifyDeployment")
    assert resource["Properties"]["UploadMode"] == "PULL"
    (source,) = resource["Properties"]["Sources"]
    assert source["ObjectKey"].endswith(".zip") and "Markers" not in source
    # Amplify fetches the zip by a URL presigned with the function's own credentials: the function's
    # s3:GetObject on that one object is all it takes; no bucket-wide read, no new action.
    by_action: dict[str, list] = {}
    for statement in all_statements(template):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            by_action.setdefault(action, []).append(statement["Resource"])
    assert set(by_action) == HANDLER_ACTIONS
    s3_resources = {json.dumps(r, sort_keys=True) for r in by_action["s3:GetObject"]}
    assert len(s3_resources) == 1 and all(".zip" in r and "/*" not in r for r in s3_resources)


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (
            lambda stack: [s3deploy.Source.data("index.html", "a"), s3deploy.Source.data("b.txt", "b")],
            r"UploadMode\.PULL deploys exactly one source zip, got 2 sources; use UploadMode\.ZIP",
        ),
        (
            lambda stack: [
                s3deploy.Source.json_data("config.json", {"region": stack.region, "id": cdk.Aws.ACCOUNT_ID})
            ],
            r"UploadMode\.PULL cannot substitute deploy-time values \(the source holds tokens, .*; "
            r"use UploadMode\.ZIP",
        ),
    ],
)
def test_pull_mode_synth_time_errors(sources, message):
    stack = new_stack()
    with pytest.raises(ValueError, match=message):
        AmplifyDeployment(
            stack, "D", app="d1", branch="main", sources=sources(stack), upload_mode=UploadMode.PULL
        )


@pytest.mark.parametrize(
    "reshape", [{"exclude": ["*.map"]}, {"include": ["*.html"]}, {"destination_key_prefix": "docs/"}]
)
def test_pull_mode_refuses_filters_and_prefix_at_synth(reshape):
    stack = new_stack()
    with pytest.raises(
        ValueError,
        match=r"UploadMode\.PULL deploys the zip as it is, without exclude, include or "
        r"destination_key_prefix; use UploadMode\.ZIP",
    ):
        AmplifyDeployment(
            stack,
            "D",
            app="d1",
            branch="main",
            sources=[s3deploy.Source.data("index.html", "a")],
            upload_mode=UploadMode.PULL,
            **reshape,
        )
