"""Resources beyond Amplify, Lambda and custom resources (issue 15), on hand-written assemblies:
moto-backed types (real Ref/GetAtt, made again after moto's state is lost, updated, rolled back,
destroyed), placeholders for the others, and the command line's context and output helpers."""

import pytest

from amplify_sandbox.driver.cli import QuietNoChange
from amplify_sandbox.driver.provisioners import kind, moto_backed
from amplify_sandbox.driver.provisioners.placeholder import placeholder_line, placeholders_of
from amplify_sandbox.driver.synth import parse_context_option, synth_context

from .test_prebuilt import _app, _deploy, _template

KEYS = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def _resources(param_value="v1"):
    return {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": KEYS},
        "Global": {
            "Type": "AWS::DynamoDB::GlobalTable",
            "Properties": {**KEYS, "Replicas": [{"Region": "us-east-1"}]},
        },
        "Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": param_value}},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
    }


VALUE = {
    "Fn::Join": [
        "|",
        [
            {"Ref": "Table"},
            {"Fn::GetAtt": ["Table", "Arn"]},
            {"Ref": "Global"},
            {"Ref": "Param"},
            {"Fn::GetAtt": ["Param", "Value"]},
            {"Ref": "Queue"},
            {"Fn::Sub": "${Queue.Arn}"},
            {"Ref": "Topic"},
        ],
    ]
}


def _forget_moto(sandbox):
    """What a new `amplify-sandbox deploy` process starts with: a moto that knows nothing."""
    moto_backed._LIVE.clear()
    sandbox.s3.reset()


def test_moto_backed_resources_have_real_values(tmp_path, sandbox):
    result = _deploy(_app(tmp_path, _template(_resources(), value=VALUE)), sandbox)
    assert result.ok, result.stacks[0].reason
    table, table_arn, global_table, param, value, queue_url, queue_arn, topic = result.outputs["Got"].split(
        "|"
    )
    assert table.startswith("Pre-Table-") and global_table.startswith("Pre-Global-")
    assert table_arn == f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"
    assert sorted(sandbox.client("dynamodb").list_tables()["TableNames"]) == sorted([table, global_table])
    assert param.startswith("CFN-Param-") and value == "v1"
    assert sandbox.client("ssm").get_parameter(Name=param)["Parameter"]["Value"] == "v1"
    assert queue_url.startswith("https://sqs.us-east-1.amazonaws.com/123456789012/Pre-Queue-")
    assert queue_arn == "arn:aws:sqs:us-east-1:123456789012:" + queue_url.rsplit("/", 1)[1]
    assert sandbox.client("sns").list_topics()["Topics"] == [{"TopicArn": topic}]
    assert all(kind(t) == "moto" for t in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"))


def test_resources_are_made_again_after_moto_forgot_them(tmp_path, sandbox):
    app = _app(tmp_path, _template(_resources(), value=VALUE))
    first = _deploy(app, sandbox)
    assert first.ok
    _forget_moto(sandbox)
    assert sandbox.client("dynamodb").list_tables()["TableNames"] == []
    lines: list[str] = []
    again = _deploy(app, sandbox, lines)
    assert again.ok and again.requests == [] and not again.stacks[0].changed
    assert "Pre: no changes" in lines
    assert again.outputs == first.outputs
    table, _arn, global_table, param, *_ = first.outputs["Got"].split("|")
    assert sorted(sandbox.client("dynamodb").list_tables()["TableNames"]) == sorted([table, global_table])
    assert sandbox.client("ssm").get_parameter(Name=param)["Parameter"]["Value"] == "v1"


def test_an_update_changes_the_resource_in_moto_and_a_rollback_restores_it(tmp_path, sandbox):
    app = _app(tmp_path, _template(_resources("v1"), value=VALUE))
    first = _deploy(app, sandbox)
    param = first.outputs["Got"].split("|")[3]

    (app / "assembly" / "Pre.template.json").write_text(
        __import__("json").dumps(_template(_resources("v2"), value=VALUE))
    )
    _forget_moto(sandbox)  # also across a restart
    updated = _deploy(app, sandbox)
    assert updated.ok, updated.stacks[0].reason
    assert updated.outputs["Got"].split("|")[3:5] == [param, "v2"]
    assert [r.request_type for r in updated.requests] == ["Update"]
    assert sandbox.client("ssm").get_parameter(Name=param)["Parameter"]["Value"] == "v2"

    failing = _template(_resources("v3"), value=VALUE)
    failing["Resources"]["CR"]["Properties"]["Fail"] = "true"
    (app / "assembly" / "Pre.template.json").write_text(__import__("json").dumps(failing))
    rolled = _deploy(app, sandbox)
    assert rolled.stacks[0].status == "UPDATE_ROLLBACK_COMPLETE"
    assert sandbox.client("ssm").get_parameter(Name=param)["Parameter"]["Value"] == "v2"


def test_a_name_that_exists_fails_as_cloudformation_would(tmp_path, sandbox):
    sandbox.client("ssm").put_parameter(Name="/taken", Value="x", Type="String")
    resources = {"Param": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/taken", "Value": "y"}}}
    result = _deploy(_app(tmp_path, _template(resources)), sandbox)
    assert not result.ok and result.stacks[0].status == "ROLLBACK_COMPLETE"
    assert "moto refused to create Param (AWS::SSM::Parameter): ParameterAlreadyExists" in (
        result.stacks[0].reason
    )
    assert sandbox.client("ssm").get_parameter(Name="/taken")["Parameter"]["Value"] == "x"


def test_destroy_deletes_them_from_moto(tmp_path, sandbox):
    app = _app(tmp_path, _template(_resources(), value=VALUE))
    assert _deploy(app, sandbox).ok
    from amplify_sandbox.driver import LocalStack

    assert LocalStack(app, sandbox, log=lambda _l: None).destroy().ok
    assert sandbox.client("dynamodb").list_tables()["TableNames"] == []
    assert sandbox.client("sqs").list_queues().get("QueueUrls", []) == []


def test_placeholders_have_documented_values_and_are_listed(tmp_path, sandbox):
    resources = {
        "Pool": {"Type": "AWS::Cognito::UserPool"},
        "Client": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {"UserPoolId": {"Ref": "Pool"}}},
        "Api": {"Type": "AWS::AppSync::GraphQLApi", "Properties": {"Name": "my-api"}},
    }
    value = {
        "Fn::Join": [
            "|",
            [
                {"Ref": "Pool"},
                {"Fn::GetAtt": ["Pool", "ProviderURL"]},
                {"Ref": "Client"},
                {"Ref": "Api"},
                {"Fn::GetAtt": ["Api", "Arn"]},
                {"Fn::GetAtt": ["Api", "ApiId"]},
            ],
        ]
    }
    lines: list[str] = []
    app = _app(tmp_path, _template(resources, value=value))
    result = _deploy(app, sandbox, lines)
    assert result.ok, result.stacks[0].reason
    pool, url, client, api, api_arn, api_id = result.outputs["Got"].split("|")
    assert pool.startswith("us-east-1_") and len(pool) == len("us-east-1_") + 9
    assert url == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert len(client) == 26
    assert api == api_id == "my-api"
    assert api_arn == "arn:aws:appsync:us-east-1:123456789012:graphqlapi/my-api"
    assert any(
        "Pool (AWS::Cognito::UserPool) CREATE_COMPLETE" in line and "placeholder" in line for line in lines
    )
    state = LocalStack_state(app, sandbox)
    assert placeholders_of(state) == [  # by logical id: a stable order whatever ran first
        ("Api", "AWS::AppSync::GraphQLApi"),
        ("Client", "AWS::Cognito::UserPoolClient"),
        ("Pool", "AWS::Cognito::UserPool"),
    ]
    assert placeholder_line([state]) == (
        "Placeholders (not created locally; their Ref/GetAtt values are made up, see docs/driver.md): "
        "Api (AWS::AppSync::GraphQLApi), Client (AWS::Cognito::UserPoolClient), Pool (AWS::Cognito::UserPool)"
    )
    # the next run keeps their values
    assert _deploy(app, sandbox).outputs == result.outputs


def LocalStack_state(app, sandbox):
    from amplify_sandbox.driver import LocalStack

    return LocalStack(app, sandbox, log=lambda _l: None).stack_state("Pre")


def test_a_placeholder_attribute_that_cannot_be_known_is_a_one_line_error(tmp_path, sandbox):
    resources = {"Dist": {"Type": "AWS::CloudFront::Distribution"}}
    result = _deploy(
        _app(tmp_path, _template(resources, value={"Fn::GetAtt": ["Dist", "DomainName"]})), sandbox
    )
    assert result.ok  # ...Name: the placeholder gives its Ref
    result = _deploy(
        _app(tmp_path / "b", _template(resources, value={"Fn::GetAtt": ["Dist", "Endpoint.Address"]})),
        sandbox,
    )
    assert not result.ok
    reason = result.stacks[0].reason
    assert reason == (
        "Dist: Fn::GetAtt Dist.Endpoint.Address: Dist (AWS::CloudFront::Distribution) is a placeholder in "
        "the local sandbox (nothing provisions it), so its Endpoint.Address cannot be known; CR reads it"
    )


def test_a_moto_attribute_that_cannot_be_known_is_a_one_line_error(tmp_path, sandbox):
    resources = {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": KEYS}}
    result = _deploy(
        _app(tmp_path, _template(resources, value={"Fn::GetAtt": ["Table", "StreamArn"]})), sandbox
    )
    assert not result.ok
    assert (
        "Fn::GetAtt Table.StreamArn: the sandbox's moto gives no StreamArn for Table"
        in result.stacks[0].reason
    )
    assert sandbox.client("dynamodb").list_tables()["TableNames"] == []  # rolled back


# ---------------------------------------------------------------------- command line helpers
def test_context_options_as_the_cdk_cli_reads_them():
    assert parse_context_option("appId=d123") == ("appId", "d123")
    assert parse_context_option("list=a=b,c") == ("list", "a=b,c")
    assert parse_context_option("empty=") == ("empty", "")
    with pytest.raises(ValueError, match="-c needs key=value, got 'appId'"):
        parse_context_option("appId")
    with pytest.raises(ValueError, match="reserved"):
        parse_context_option("aws:cdk:x=1")


def test_command_line_context_wins_over_cdk_json_and_cdk_context_json(tmp_path):
    (tmp_path / "cdk.context.json").write_text('{"previews": "from-cache", "kept": 1}')
    config = {"app": "python3 app.py", "context": {"previews": "from-cdk-json", "other": True}}
    context = synth_context(tmp_path, config, {"previews": "feature/a"})
    assert context["previews"] == "feature/a"
    assert context["kept"] == 1 and context["other"] is True
    assert context["aws:cdk:enable-path-metadata"] is True


def test_a_stack_with_no_changes_prints_one_line(capsys):
    log = QuietNoChange()
    for line in [
        "synth: python3 app.py (in /x)",
        "A: UPDATE_IN_PROGRESS",
        "A: no changes",
        "Outputs:",
        "  A.Url = https://x",
        "A: CREATE_COMPLETE",
        "B: UPDATE_IN_PROGRESS",
        "B | Param (AWS::SSM::Parameter) UPDATE_COMPLETE CFN-Param-1",
        "B: UPDATE_COMPLETE",
        "C: UPDATE_IN_PROGRESS",
    ]:
        log(line)
    log.flush()
    assert capsys.readouterr().out.splitlines() == [
        "synth: python3 app.py (in /x)",
        "A: no changes",
        "Outputs:",
        "  A.Url = https://x",
        "B: UPDATE_IN_PROGRESS",
        "B | Param (AWS::SSM::Parameter) UPDATE_COMPLETE CFN-Param-1",
        "B: UPDATE_COMPLETE",
        "C: UPDATE_IN_PROGRESS",
    ]
