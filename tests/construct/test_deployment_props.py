"""AmplifyDeployment's BucketDeployment-style props: exclude/include, destination_key_prefix, log_group,
vpc/vpc_subnets/security_groups; what they render into the template and every synth-time error."""

from __future__ import annotations

import zipfile

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_deployment as s3deploy

from amplify_deployment import AmplifyDeployment, UploadMode

# The handler of a stack with default settings: its id must not change with new optional props.
DEFAULT_HANDLER = "AmplifyDeploymentHandlerba37e1bf"


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account="123456789012", region="eu-west-1"))


def deploy(stack: cdk.Stack, id: str = "D", **kwargs) -> AmplifyDeployment:
    props = {"app": "d1", "branch": "main", "sources": [s3deploy.Source.data("index.html", "x")], **kwargs}
    return AmplifyDeployment(stack, id, **props)


def resource_props(stack: cdk.Stack) -> dict:
    (resource,) = assertions.Template.from_stack(stack).find_resources("Custom::AmplifyDeployment").values()
    return resource["Properties"]


def functions(stack: cdk.Stack) -> dict:
    return assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function")


# --------------------------------------------------------------------------- filters and prefix
def test_filters_and_prefix_are_passed_to_the_handler_in_order():
    stack = new_stack()
    deploy(
        stack,
        exclude=["*.map", ".DS_Store", "drafts/*"],
        include=["drafts/public/*"],
        destination_key_prefix="docs",
    )
    props = resource_props(stack)
    assert props["Exclude"] == ["*.map", ".DS_Store", "drafts/*"]
    assert props["Include"] == ["drafts/public/*"]
    assert props["DestinationKeyPrefix"] == "docs/"


def test_without_the_new_props_the_resource_properties_are_unchanged():
    # New keys would update (redeploy) every existing resource; they appear only when set.
    stack = new_stack()
    deploy(stack, exclude=[], include=[], destination_key_prefix="")
    assert set(resource_props(stack)) == {
        "ServiceToken",
        "ServiceTimeout",
        "AppId",
        "BranchName",
        "UploadMode",
        "Sources",
    }
    assert [k for k in functions(stack)][0].startswith(DEFAULT_HANDLER)


@pytest.mark.parametrize("prefix,expected", [("docs/", "docs/"), ("a/b", "a/b/"), ("v1.2", "v1.2/")])
def test_prefix_is_normalised(prefix, expected):
    stack = new_stack()
    deploy(stack, destination_key_prefix=prefix)
    assert resource_props(stack)["DestinationKeyPrefix"] == expected


def test_tokens_are_left_to_the_handler():
    stack = new_stack()
    prefix = cdk.CfnParameter(stack, "Prefix").value_as_string
    pattern = cdk.CfnParameter(stack, "Pattern").value_as_string
    deploy(stack, destination_key_prefix=prefix, exclude=[pattern])
    props = resource_props(stack)
    assert props["DestinationKeyPrefix"] == {"Ref": "Prefix"}
    assert props["Exclude"] == [{"Ref": "Pattern"}]


def write_site(root, long_name: str):
    (root / "index.html").parent.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text("ok")
    deep = root / long_name
    deep.parent.mkdir(parents=True, exist_ok=True)
    deep.write_text("x")
    return s3deploy.Source.asset(str(root))


def test_files_mode_length_check_sees_the_filters(tmp_path):
    long_name = "maps/" + "m" * 250 + ".map"
    # Excluded: the long file is not deployed, synth passes.
    deploy(
        new_stack(),
        sources=[write_site(tmp_path / "a", long_name)],
        upload_mode=UploadMode.FILES,
        exclude=["*.map"],
    )
    # Excluded, then included again: it is deployed, synth fails.
    with pytest.raises(ValueError, match="exceed 255 characters"):
        deploy(
            new_stack(),
            sources=[write_site(tmp_path / "b", long_name)],
            upload_mode=UploadMode.FILES,
            exclude=["*.map"],
            include=["maps/*"],
        )


def test_files_mode_length_check_counts_the_prefix(tmp_path):
    name = "p" * 250  # 250 characters: fits alone, not under a 6-character prefix
    site = tmp_path / "site"
    site.mkdir()
    (site / name).write_text("x")
    deploy(
        new_stack(),
        sources=[s3deploy.Source.asset(str(site))],
        upload_mode=UploadMode.FILES,
        destination_key_prefix="abcd",
    )
    with pytest.raises(ValueError, match="1 file path\\(s\\) under the prefix 'abcde/' exceed 255"):
        deploy(
            new_stack(),
            sources=[s3deploy.Source.asset(str(site))],
            upload_mode=UploadMode.FILES,
            destination_key_prefix="abcde",
        )
    # ZIP mode has no such limit.
    deploy(new_stack(), sources=[s3deploy.Source.asset(str(site))], destination_key_prefix="abcde")


def test_files_mode_length_check_of_a_zip_asset_sees_filters_and_prefix(tmp_path):
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", "ok")
        z.writestr("a/" + "b" * 248, "x")  # 250 characters
    ok = {"sources": [s3deploy.Source.asset(str(archive))], "upload_mode": UploadMode.FILES}
    deploy(new_stack(), **ok, destination_key_prefix="pre")
    deploy(new_stack(), **ok, destination_key_prefix="prefix", exclude=["a/*"])
    with pytest.raises(ValueError, match="exceed 255"):
        deploy(new_stack(), **ok, destination_key_prefix="prefix")


# --------------------------------------------------------------------------- log group
def test_given_log_group_is_used_and_granted():
    stack = new_stack()
    group = logs.LogGroup(stack, "MyLogs", retention=logs.RetentionDays.ONE_YEAR)
    deploy(stack, log_group=group)
    template = assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::Logs::LogGroup", 1)  # only the given one
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == {
        "Ref": stack.get_logical_id(group.node.default_child)
    }
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "logs:PutLogEvents" in s["Action"]
    ]
    assert statements and statements[0]["Resource"]["Fn::GetAtt"][0].startswith("MyLogs")


def test_an_imported_log_group_works():
    stack = new_stack()
    deploy(stack, log_group=logs.LogGroup.from_log_group_name(stack, "Existing", "/org/deployments"))
    (function,) = functions(stack).values()
    assert function["Properties"]["LoggingConfig"]["LogGroup"] == "/org/deployments"


def test_different_log_groups_make_different_handlers():
    stack = new_stack()
    one, two = logs.LogGroup(stack, "One"), logs.LogGroup(stack, "Two")
    deploy(stack, "A", log_group=one)
    deploy(stack, "B", log_group=one, branch="b")
    deploy(stack, "C", log_group=two, branch="c")
    deploy(stack, "D", branch="d")
    names = sorted(functions(stack))
    assert len(names) == 3
    assert any(n.startswith(DEFAULT_HANDLER) for n in names)  # the default handler keeps its id


def test_log_retention_still_applies_to_the_group_made_for_the_handler():
    stack = new_stack()
    deploy(stack, log_retention=logs.RetentionDays.ONE_WEEK)
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": 7}
    )


# --------------------------------------------------------------------------- VPC
def vpc_stack() -> tuple[cdk.Stack, ec2.Vpc]:
    stack = new_stack()
    return stack, ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)


def test_handler_in_a_vpc():
    stack, vpc = vpc_stack()
    group = ec2.SecurityGroup(stack, "Sg", vpc=vpc)
    deploy(
        stack,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[group],
    )
    template = assertions.Template.from_stack(stack)
    ((name, function),) = functions(stack).items()
    config = function["Properties"]["VpcConfig"]
    assert [s["Ref"] for s in config["SubnetIds"]] == [
        stack.get_logical_id(s.node.default_child) for s in vpc.private_subnets
    ]
    assert config["SecurityGroupIds"] == [
        {"Fn::GetAtt": [stack.get_logical_id(group.node.default_child), "GroupId"]}
    ]
    # The role may manage the function's network interfaces, and the function waits for that grant.
    vpc_policies = {
        k: p
        for k, p in template.find_resources("AWS::IAM::Policy").items()
        if any(
            "ec2:CreateNetworkInterface" in s["Action"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
    }
    ((policy_id, policy),) = vpc_policies.items()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == sorted(
        [
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ]
    )
    assert policy_id in function["DependsOn"]


def test_default_security_group_is_made_for_the_handler():
    stack, vpc = vpc_stack()
    deploy(stack, vpc=vpc)
    (function,) = functions(stack).values()
    (group_id,) = function["Properties"]["VpcConfig"]["SecurityGroupIds"]
    assert group_id["Fn::GetAtt"][0].startswith("AmplifyDeploymentHandler")


def test_different_vpc_settings_make_different_handlers():
    stack, vpc = vpc_stack()
    other = ec2.Vpc(stack, "Other", max_azs=1, nat_gateways=1)
    group = ec2.SecurityGroup(stack, "Sg", vpc=vpc)
    a = deploy(stack, "A", vpc=vpc)
    a2 = deploy(stack, "A2", vpc=vpc, branch="a2")  # same settings: same handler
    a3 = deploy(
        stack,
        "A3",
        vpc=vpc,
        branch="a3",
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
    )  # selects the same subnets
    deploy(
        stack,
        "B",
        vpc=vpc,
        branch="b",
        vpc_subnets=ec2.SubnetSelection(availability_zones=[vpc.availability_zones[0]]),
    )
    deploy(stack, "C", vpc=vpc, branch="c", security_groups=[group])
    deploy(stack, "D", vpc=other, branch="d")
    deploy(stack, "E", branch="e")  # no VPC
    assert a.handler_function is a2.handler_function is a3.handler_function
    assert len(functions(stack)) == 5  # A (A2, A3), B, C, D, E


# --------------------------------------------------------------------------- synth-time errors
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"exclude": "*.map"}, TypeError, "exclude must be a list of glob patterns"),
        ({"include": ["ok", ""]}, ValueError, "include pattern '' must not be empty"),
        ({"exclude": ["/index.html"]}, ValueError, "exclude pattern '/index.html' starts with '/'"),
        ({"exclude": ["js\\app.js"]}, ValueError, "backslash"),
        ({"destination_key_prefix": "/docs"}, ValueError, "destination_key_prefix '/docs' must be relative"),
        ({"destination_key_prefix": "../up"}, ValueError, "must not contain empty, '.' or '..' segments"),
        ({"destination_key_prefix": "a//b"}, ValueError, "must not contain empty"),
        ({"destination_key_prefix": "d" * 254}, ValueError, "longer than 254 characters"),
        ({"destination_key_prefix": 3}, TypeError, "destination_key_prefix must be a string"),
        (
            {"log_retention": logs.RetentionDays.ONE_MONTH, "log_group": "LOG_GROUP"},
            ValueError,
            "either 'log_group' or 'log_retention', not both",
        ),
        (
            {"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)},
            ValueError,
            "vpc_subnets given without 'vpc'",
        ),
        ({"security_groups": "SG_LIST"}, ValueError, "security_groups given without 'vpc'"),
        ({"vpc": "VPC", "security_groups": []}, ValueError, "security_groups is empty"),
        ({"vpc": "VPC", "security_groups": "SG"}, TypeError, "security_groups must be a list"),
    ],
)
def test_synth_time_errors(kwargs, error, message):
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1)
    group = ec2.SecurityGroup(stack, "Sg", vpc=vpc)
    # Constructs cannot be made before the stack: the table names them.
    stand_ins = {"LOG_GROUP": logs.LogGroup(stack, "Logs"), "VPC": vpc, "SG": group, "SG_LIST": [group]}
    kwargs = {k: stand_ins.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(error, match=message):
        deploy(stack, **kwargs)
