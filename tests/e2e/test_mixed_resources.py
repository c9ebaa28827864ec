"""Issue 15's "done when": a stack mixing the site with a DynamoDB table, an SSM parameter, a Lambda
function and an SQS queue, whose config.json carries values of each, deploys in the sandbox; the
served config.json holds the real values, and they are what moto holds (checked through boto3)."""

import json
from pathlib import Path

import pytest

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack, copy_app

from .site_checks import assert_served, fetch, site_files

APP = Path(__file__).resolve().parent / "apps" / "mixed_resources"
STACK = "MixedResources"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    app_dir = copy_app(APP, tmp_path_factory.mktemp("mixed") / "mixed_resources")
    lines: list[str] = []
    with Sandbox(state_dir=app_dir / ".amplify-sandbox" / "emulator") as sb:
        driver = LocalStack(app_dir, sb, log=lines.append)
        result = driver.deploy()
        assert result.ok, (result.error or result.stacks[0].reason) + "\n".join(lines[-40:])
        ((_app_id, _branch, url),) = driver.site_urls(result)
        config = json.loads(fetch(url + "config.json"))
        yield sb, app_dir, url, config, driver.stack_state(STACK), lines


def _of_type(state, rtype):
    (res,) = [r for r in state.resources.values() if r.type == rtype]
    return res


def test_the_site_is_served_with_its_config(deployed):
    _sb, app_dir, url, config, _state, _lines = deployed
    assert_served(url, site_files(app_dir / "site"))
    assert set(config) == {
        "tableName",
        "tableArn",
        "apiUrl",
        "apiUrlParameter",
        "queueUrl",
        "queueArn",
        "functionName",
        "functionArn",
        "region",
    }
    assert config["region"] == "us-east-1"


def test_the_table_exists_in_moto_under_the_served_name(deployed):
    sb, _app, _url, config, state, _lines = deployed
    assert config["tableName"] == _of_type(state, "AWS::DynamoDB::Table").ref
    assert config["tableName"].startswith(f"{STACK}-Table")
    table = sb.client("dynamodb").describe_table(TableName=config["tableName"])["Table"]
    assert table["TableArn"] == config["tableArn"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_the_parameter_holds_the_served_value(deployed):
    sb, _app, _url, config, _state, _lines = deployed
    assert config["apiUrl"] == "https://api.example.com/v2"
    param = sb.client("ssm").get_parameter(Name=config["apiUrlParameter"])["Parameter"]
    assert param["Value"] == config["apiUrl"]


def test_the_queue_exists_at_the_served_url(deployed):
    sb, _app, _url, config, _state, _lines = deployed
    name = config["queueUrl"].rsplit("/", 1)[1]
    assert config["queueUrl"] == f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"
    sqs = sb.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=config["queueUrl"], AttributeNames=["QueueArn"])
    assert attrs["Attributes"]["QueueArn"] == config["queueArn"]
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"].endswith(f"/123456789012/{name}")


def test_the_function_is_the_recorded_one(deployed):
    _sb, _app, _url, config, state, _lines = deployed
    function = state.resources[
        next(lid for lid, r in state.resources.items() if r.type == "AWS::Lambda::Function" and "Api" in lid)
    ]
    assert config["functionName"] == function.ref
    assert config["functionArn"] == function.attributes["Arn"]
    assert config["functionArn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{config['functionName']}"
    )
    # its environment was resolved with the real table name and queue URL
    assert function.function["environment"] == {"TABLE": config["tableName"], "QUEUE_URL": config["queueUrl"]}


def test_no_placeholder_in_this_stack(deployed):
    *_, state, lines = deployed
    from amplify_sandbox.driver.provisioners.placeholder import placeholders_of

    assert placeholders_of(state) == []
    assert not any("placeholder" in line for line in lines)
