"""Resource ordering (DependsOn + references), kinds, and EventInvokeConfig retries."""

import pytest

from amplify_sandbox.driver.provisioners import kind
from amplify_sandbox.driver.template import (
    TemplateError,
    provision_order,
    retry_attempts,
)


def test_order_follows_references_and_depends_on():
    resources = {
        "Site": {
            "Type": "Custom::X",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Fn", "Arn"]}, "App": {"Fn::Sub": "${App.AppId}"}},
            "DependsOn": "Branch",
        },
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Branch": {"Type": "AWS::Amplify::Branch", "Properties": {"AppId": {"Fn::GetAtt": ["App", "AppId"]}}},
        "Role": {"Type": "AWS::IAM::Role"},
        "App": {"Type": "AWS::Amplify::App", "Properties": {"Name": "x"}},
    }
    order = provision_order(resources)
    assert sorted(order) == sorted(resources)
    for before, after in [
        ("Fn", "Site"),
        ("Role", "Fn"),
        ("App", "Branch"),
        ("Branch", "Site"),
        ("App", "Site"),
    ]:
        assert order.index(before) < order.index(after)


def test_cycle_is_an_error_naming_it():
    resources = {
        "A": {"Type": "AWS::IAM::Role", "Properties": {"X": {"Ref": "B"}}},
        "B": {"Type": "AWS::IAM::Role", "DependsOn": ["A"]},
    }
    with pytest.raises(TemplateError, match="circular dependency between resources: A -> B -> A"):
        provision_order(resources)


def test_depends_on_an_unknown_resource_is_an_error():
    with pytest.raises(TemplateError, match="Resources.A.DependsOn: Ghost is not a resource"):
        provision_order({"A": {"Type": "AWS::IAM::Role", "DependsOn": "Ghost"}})


def test_kinds():
    assert kind("Custom::AmplifyDeployment") == "custom"
    assert kind("AWS::CloudFormation::CustomResource") == "custom"
    assert kind("AWS::Amplify::App") == "amplify"
    assert kind("AWS::Amplify::Branch") == "amplify"
    assert kind("AWS::Lambda::Function") == "lambda"
    assert kind("AWS::IAM::Role") == "passive"
    assert kind("AWS::Logs::LogGroup") == "passive"
    assert kind("AWS::Lambda::EventInvokeConfig") == "passive"
    assert kind("AWS::S3::Bucket") == "moto"
    assert kind("AWS::DynamoDB::GlobalTable") == "moto"
    assert kind("AWS::Cognito::UserPool") == "placeholder"


def test_retry_attempts_from_event_invoke_config():
    resources = {
        "Fn": {"Type": "AWS::Lambda::Function"},
        "Cfg": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {"FunctionName": {"Ref": "Fn"}, "MaximumRetryAttempts": 0, "Qualifier": "$LATEST"},
        },
    }
    assert retry_attempts(resources) == {"Fn": 0}
