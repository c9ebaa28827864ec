"""AWS::SecretsManager::Secret in the sandbox's moto Secrets Manager, and the
``{{resolve:secretsmanager:...}}`` dynamic references that read it (as CDK's
``secret.secret_value_from_json("password")`` renders them), on hand-written cloud assemblies."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack
from amplify_sandbox.driver.resolver import (
    SECRET_NAME,
    SECRET_VALUE,
    ResolveContext,
    ResolveError,
    pseudo_parameters,
    resolve,
)

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:Auth-AbCdEfGhIjKl-x1Y2z3"
EXCLUDED = "/@\"' \\"


def _reference(key: str = "password") -> dict[str, Any]:
    """What CDK synthesizes for ``secret.secret_value_from_json(key)``."""
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Auth"}, f":SecretString:{key}::}}}}"]]}


def _secret(**generator: Any) -> dict[str, Any]:
    options = {
        "SecretStringTemplate": '{"username":"admin"}',
        "GenerateStringKey": "password",
        "ExcludeCharacters": EXCLUDED,
        **generator,
    }
    return {"Type": "AWS::SecretsManager::Secret", "Properties": {"GenerateSecretString": options}}


def _template(secret: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "Resources": {
            "Auth": secret or _secret(),
            "App": {
                "Type": "AWS::Amplify::App",
                "Properties": {
                    "Name": "secret-site",
                    "BasicAuthConfig": {
                        "EnableBasicAuth": True,
                        "Username": "admin",
                        "Password": _reference(),
                    },
                },
            },
        },
        "Outputs": {
            "AppId": {"Value": {"Fn::GetAtt": ["App", "AppId"]}},
            "SecretArn": {"Value": {"Ref": "Auth"}},
            "SecretId": {"Value": {"Fn::GetAtt": ["Auth", "Id"]}},
            "Literal": {"Value": _reference()},
        },
    }


def _app(tmp_path: Path, template: dict[str, Any]) -> Path:
    app = tmp_path / "app"
    assembly = app / "assembly"
    assembly.mkdir(parents=True, exist_ok=True)
    (app / "cdk.json").write_text(json.dumps({"app": "assembly"}))
    (assembly / "Sec.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "36.0.0",
        "artifacts": {
            "Sec": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Sec.template.json"}}
        },
    }
    (assembly / "manifest.json").write_text(json.dumps(manifest))
    return app


def _deploy(app: Path, sandbox: Sandbox, lines: list[str] | None = None) -> Any:
    return LocalStack(app, sandbox, log=lines.append if lines is not None else lambda _l: None).deploy()


def _value(sandbox: Sandbox, arn: str) -> dict[str, Any]:
    got = sandbox.client("secretsmanager").get_secret_value(SecretId=arn)
    assert got["ARN"] == arn
    return dict(json.loads(got["SecretString"]))


def _app_password(sandbox: Sandbox, result: Any) -> str:
    app = sandbox.client("amplify").get_app(appId=result.outputs["AppId"])["app"]
    assert app["enableBasicAuth"] is True
    user, _, password = base64.b64decode(app["basicAuthCredentials"]).decode().partition(":")
    assert user == "admin"
    return password


def test_a_generated_secret_feeds_the_apps_basic_auth(tmp_path: Path, sandbox: Sandbox) -> None:
    app = _app(tmp_path, _template())
    result = _deploy(app, sandbox)
    assert result.ok, result.stacks[0].reason
    arn = result.outputs["SecretArn"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:Auth-")
    assert result.outputs["SecretId"] == arn
    assert result.outputs["Literal"] == f"{{{{resolve:secretsmanager:{arn}:SecretString:password::}}}}"
    secret = _value(sandbox, arn)
    assert secret["username"] == "admin"
    password = secret["password"]
    assert len(password) == 32 and not set(password) & set(EXCLUDED)
    assert _app_password(sandbox, result) == password

    again = _deploy(app, sandbox)  # nothing changed: the same secret, the same password
    assert again.ok and not again.stacks[0].changed
    assert _value(sandbox, arn)["password"] == password


def test_a_changed_generator_makes_a_new_password_and_updates_the_app(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    app = _app(tmp_path, _template())
    first = _deploy(app, sandbox)
    arn = first.outputs["SecretArn"]
    old = _value(sandbox, arn)["password"]
    _app(tmp_path, _template(_secret(PasswordLength=20, ExcludePunctuation=True)))
    second = _deploy(app, sandbox)
    assert second.ok, second.stacks[0].reason
    assert second.outputs["SecretArn"] == arn  # updated in place
    new = _value(sandbox, arn)["password"]
    assert new != old and len(new) == 20 and new.isalnum()
    assert _app_password(sandbox, second) == new


def test_a_secret_lost_with_moto_is_made_again_with_its_value(tmp_path: Path, sandbox: Sandbox) -> None:
    app = _app(tmp_path, _template())
    first = _deploy(app, sandbox)
    password = _value(sandbox, first.outputs["SecretArn"])["password"]
    sandbox.s3.reset()  # moto forgets everything, as after a restart
    lines: list[str] = []
    second = _deploy(app, sandbox, lines)
    assert second.ok, second.stacks[0].reason
    assert any("is gone from moto" in line for line in lines)
    assert _value(sandbox, second.outputs["SecretArn"])["password"] == password
    assert _app_password(sandbox, second) == password
    assert not any("App (AWS::Amplify::App) UPDATE" in line for line in lines)  # same password: no update


def test_secret_string_rename_replaces_and_destroy_deletes(tmp_path: Path, sandbox: Sandbox) -> None:
    props = {"Name": "site/auth", "SecretString": json.dumps({"password": "hunter2"})}
    plain: dict[str, Any] = {"Type": "AWS::SecretsManager::Secret", "Properties": props}
    app = _app(tmp_path, _template(plain))
    first = _deploy(app, sandbox)
    assert first.ok, first.stacks[0].reason
    old_arn = first.outputs["SecretArn"]
    assert ":secret:site/auth-" in old_arn and _app_password(sandbox, first) == "hunter2"
    client = sandbox.client("secretsmanager")

    renamed = json.loads(json.dumps(plain))
    renamed["Properties"]["Name"] = "site/auth2"
    _app(tmp_path, _template(renamed))
    second = _deploy(app, sandbox)
    assert second.ok, second.stacks[0].reason
    new_arn = second.outputs["SecretArn"]
    assert ":secret:site/auth2-" in new_arn
    names = {s["Name"] for s in client.list_secrets()["SecretList"]}
    assert names == {"site/auth2"}  # the old one deleted after the update

    destroyed = LocalStack(app, sandbox, log=lambda _l: None).destroy()
    assert destroyed.stacks[0].status == "DELETE_COMPLETE"
    assert client.list_secrets()["SecretList"] == []


def test_both_secret_string_and_generator_fail_the_create(tmp_path: Path, sandbox: Sandbox) -> None:
    bad = _secret()
    bad["Properties"]["SecretString"] = "x"
    result = _deploy(_app(tmp_path, _template(bad)), sandbox)
    assert not result.ok and result.stacks[0].status == "ROLLBACK_COMPLETE"
    assert "give SecretString or GenerateSecretString, not both" in result.stacks[0].reason


# ---------------------------------------------------------------------- the resolver alone
def _ctx(value: str = '{"password":"p@ss","n":3}', types: dict[str, str] | None = None) -> ResolveContext:
    return ResolveContext(
        pseudo=pseudo_parameters(account="123456789012", region="us-east-1", stack_name="S", stack_id="id"),
        refs={"Auth": ARN},
        attributes={"Auth": {"Id": ARN, SECRET_NAME: "Auth-AbCdEfGhIjKl", SECRET_VALUE: value}},
        types={"Auth": "AWS::SecretsManager::Secret", "App": "AWS::Amplify::App", **(types or {})},
        declared={"Auth", "App"},
    )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:password::}}}}", "p@ss"),
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:password:AWSCURRENT:}}}}", "p@ss"),
        ("{{resolve:secretsmanager:Auth-AbCdEfGhIjKl:SecretString:password}}", "p@ss"),
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:n::}}}}", "3"),
        (f"{{{{resolve:secretsmanager:{ARN}}}}}", '{"password":"p@ss","n":3}'),
        (f"user-{{{{resolve:secretsmanager:{ARN}:SecretString:password::}}}}-x", "user-p@ss-x"),
    ],
)
def test_dynamic_references_resolve_in_resource_properties(reference: str, expected: str) -> None:
    assert resolve({"P": reference}, _ctx(), "Resources.App.Properties") == {"P": expected}


def test_the_cdk_join_shape_resolves() -> None:
    assert resolve(_reference(), _ctx(), "Resources.App.Properties.Password") == "p@ss"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:nope::}}}}", "the secret has no key 'nope'"),
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:password:AWSPREVIOUS:}}}}", "only the current"),
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:password::v1}}}}", "only the current"),
        ("{{resolve:secretsmanager:other:SecretString:password::}}", "no secret of this stack"),
        ("{{resolve:ssm:/my/param}}", "resolves only secretsmanager"),
    ],
)
def test_dynamic_reference_errors_name_the_reference_not_the_value(reference: str, message: str) -> None:
    with pytest.raises(ResolveError) as err:
        resolve({"P": reference}, _ctx(), "Resources.App.Properties")
    assert message in str(err.value) and "p@ss" not in str(err.value)
    assert "(at Resources.App.Properties.P)" in str(err.value)


def test_a_non_json_secret_with_a_key_is_an_error() -> None:
    with pytest.raises(ResolveError, match="not a JSON object"):
        resolve(f"{{{{resolve:secretsmanager:{ARN}:SecretString:k::}}}}", _ctx("plain"), "Resources.App.P")


def test_custom_resources_and_outputs_do_not_resolve_them() -> None:
    ref = f"{{{{resolve:secretsmanager:{ARN}:SecretString:password::}}}}"
    with pytest.raises(ResolveError, match="custom resource"):
        resolve(ref, _ctx(types={"CR": "Custom::X"}), "Resources.CR.Properties.Value")
    assert resolve(ref, _ctx(), "Outputs.X.Value") == ref


def test_the_kept_value_is_no_getatt_attribute() -> None:
    with pytest.raises(ResolveError, match="has no attribute") as err:
        resolve({"Fn::GetAtt": ["Auth", SECRET_VALUE]}, _ctx(), "Resources.App.Properties.P")
    assert "p@ss" not in str(err.value) and "(it has: Id)" in str(err.value)
