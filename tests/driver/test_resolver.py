"""The intrinsic-function resolver: each function, AWS::NoValue, stringification, and its errors."""

import pytest

from amplify_sandbox.driver.resolver import (
    NO_VALUE,
    ResolveContext,
    ResolveError,
    pseudo_parameters,
    references,
    resolve,
    stringify_scalars,
)


@pytest.fixture
def ctx():
    return ResolveContext(
        pseudo=pseudo_parameters(
            account="123456789012",
            region="eu-west-1",
            stack_name="MyStack",
            stack_id="arn:aws:cloudformation:eu-west-1:123456789012:stack/MyStack/abc",
        ),
        refs={"App": "arn:aws:amplify:eu-west-1:123456789012:apps/d1", "Fn": "my-fn", "Env": "prod"},
        attributes={
            "App": {"AppId": "d1", "DefaultDomain": "d1.amplifyapp.com"},
            "Fn": {"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:my-fn"},
            "Site": {"Outputs.Url": "https://x", "Sizes": ["1", "2", "3"]},
        },
        types={"App": "AWS::Amplify::App", "Fn": "AWS::Lambda::Function", "Bucket": "AWS::S3::Bucket"},
        declared={"App", "Fn", "Site", "Bucket", "Env"},
    )


def test_ref_resources_and_pseudo_parameters(ctx):
    assert resolve({"Ref": "Fn"}, ctx) == "my-fn"
    assert resolve({"Ref": "Env"}, ctx) == "prod"
    assert resolve({"Ref": "AWS::AccountId"}, ctx) == "123456789012"
    assert resolve({"Ref": "AWS::Region"}, ctx) == "eu-west-1"
    assert resolve({"Ref": "AWS::Partition"}, ctx) == "aws"
    assert resolve({"Ref": "AWS::URLSuffix"}, ctx) == "amazonaws.com"
    assert resolve({"Ref": "AWS::StackName"}, ctx) == "MyStack"
    assert resolve({"Ref": "AWS::StackId"}, ctx).startswith("arn:aws:cloudformation:eu-west-1:")


def test_no_value_removes_the_key_or_item(ctx):
    value = {"Keep": "x", "Drop": {"Ref": "AWS::NoValue"}, "List": ["a", {"Ref": "AWS::NoValue"}, "b"]}
    assert resolve(value, ctx) == {"Keep": "x", "List": ["a", "b"]}
    assert resolve({"Ref": "AWS::NoValue"}, ctx) is NO_VALUE


def test_get_att_both_forms_and_dotted_attributes(ctx):
    assert resolve({"Fn::GetAtt": ["App", "AppId"]}, ctx) == "d1"
    assert resolve({"Fn::GetAtt": "App.DefaultDomain"}, ctx) == "d1.amplifyapp.com"
    assert resolve({"Fn::GetAtt": ["Site", "Outputs.Url"]}, ctx) == "https://x"
    assert resolve({"Fn::GetAtt": "Site.Outputs.Url"}, ctx) == "https://x"


def test_sub_string_form(ctx):
    text = "cdk-${AWS::AccountId}-${AWS::Region}/${App.AppId}/${Fn}/${!Literal}"
    assert resolve({"Fn::Sub": text}, ctx) == "cdk-123456789012-eu-west-1/d1/my-fn/${Literal}"


def test_sub_with_variables(ctx):
    value = {
        "Fn::Sub": [
            "${Name}.${Domain}:${AWS::Partition}",
            {"Name": "main", "Domain": {"Fn::GetAtt": ["App", "DefaultDomain"]}},
        ]
    }
    assert resolve(value, ctx) == "main.d1.amplifyapp.com:aws"


def test_join_and_nested_functions(ctx):
    value = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":x:", {"Fn::GetAtt": ["App", "AppId"]}, ":", 7, True],
        ]
    }
    assert resolve(value, ctx) == "arn:aws:x:d1:7true"
    assert resolve({"Fn::Join": [",", []]}, ctx) == ""


def test_select(ctx):
    assert resolve({"Fn::Select": [1, ["a", "b", "c"]]}, ctx) == "b"
    assert resolve({"Fn::Select": ["2", {"Fn::GetAtt": ["Site", "Sizes"]}]}, ctx) == "3"
    assert resolve({"Fn::Select": [0, [{"Ref": "Fn"}]]}, ctx) == "my-fn"


def test_plain_values_pass_through(ctx):
    value = {"A": 1, "B": [True, None, {"C": "d"}], "E": 1.5}
    assert resolve(value, ctx) == value


def test_stringify_scalars_as_cloudformation_delivers_them():
    value = {"N": 3, "F": 1.5, "B": True, "b": False, "S": "s", "L": [1, {"x": False}], "None": None}
    assert stringify_scalars(value) == {
        "N": "3",
        "F": "1.5",
        "B": "true",
        "b": "false",
        "S": "s",
        "L": ["1", {"x": "false"}],
        "None": None,
    }


def test_references_finds_ref_getatt_and_sub_targets():
    value = {
        "A": {"Ref": "Fn"},
        "B": {"Fn::GetAtt": ["App", "AppId"]},
        "C": {"Fn::GetAtt": "Site.Outputs.Url"},
        "D": {"Fn::Sub": "${Bucket}-${Role.Arn}-${AWS::Region}-${!Skip}"},
        "E": {"Fn::Sub": ["${Local}-${Other}", {"Local": "x"}]},
        "F": {"Fn::Join": ["", [{"Ref": "AWS::AccountId"}, {"Ref": "Deep"}]]},
    }
    assert references(value) == {"Fn", "App", "Site", "Bucket", "Role", "Other", "Deep"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::If": ["C", "a", "b"]}, "Fn::If is not supported by the local driver"),
        ({"Fn::ImportValue": "X"}, "Fn::ImportValue is not supported"),
        ({"Fn::Split": [",", "a,b"]}, "Fn::Split is not supported"),
        ({"Fn::Base64": "x"}, "Fn::Base64 is not supported"),
        ({"Ref": "Nope"}, "Ref Nope: no resource or parameter named Nope in the template"),
        ({"Ref": "Bucket"}, "resource Bucket (AWS::S3::Bucket) has no value here"),
        ({"Ref": "AWS::Nope"}, "Ref AWS::Nope: unknown pseudo parameter"),
        (
            {"Fn::GetAtt": ["App", "Nope"]},
            "App (AWS::Amplify::App) has no attribute Nope (it has: AppId, DefaultDomain)",
        ),
        ({"Fn::GetAtt": ["Bucket", "Arn"]}, "Bucket (AWS::S3::Bucket) has no value here"),
        ({"Fn::GetAtt": "NoDot"}, "Fn::GetAtt needs"),
        ({"Fn::Sub": "${Missing}"}, "no resource or parameter named Missing"),
        ({"Fn::Sub": 3}, "Fn::Sub needs a string"),
        ({"Fn::Join": ["-", "notalist"]}, "Fn::Join needs a list of values"),
        ({"Fn::Join": ["-", [{"k": "v"}]]}, "Fn::Join value must be a string"),
        ({"Fn::Select": [5, ["a"]]}, "Fn::Select index 5 is out of range for a list of 1"),
        ({"Fn::Select": ["x", ["a"]]}, "Fn::Select index must be an integer"),
    ],
)
def test_errors_name_the_function_and_the_place(ctx, value, message):
    with pytest.raises(ResolveError) as err:
        resolve({"Outer": [value]}, ctx, "Resources.Site.Properties")
    assert message in str(err.value)
    assert err.value.path.startswith("Resources.Site.Properties.Outer[0]")
    assert "(at Resources.Site.Properties.Outer[0]" in str(err.value)
