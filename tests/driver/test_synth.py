"""Synth without the CDK CLI: the app command, the context, reading a cloud assembly."""

import json
import sys

import pytest

from amplify_sandbox.driver.synth import (
    CLI_DEFAULT_CONTEXT,
    SynthError,
    app_command,
    read_cdk_json,
    synth_context,
)


def test_a_leading_python_becomes_the_current_interpreter():
    assert app_command("python3 app.py --flag 'a b'") == [sys.executable, "app.py", "--flag", "a b"]
    assert app_command("python app.py") == [sys.executable, "app.py"]
    assert app_command("python3.11 app.py")[0] == sys.executable
    assert app_command("npx ts-node app.ts") == ["npx", "ts-node", "app.ts"]


def test_context_is_cli_defaults_then_cdk_json_then_cdk_context_json(tmp_path):
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "python3 app.py", "context": {"a": 1, "b": 2}}))
    (tmp_path / "cdk.context.json").write_text(json.dumps({"b": 3}))
    context = synth_context(tmp_path, read_cdk_json(tmp_path))
    assert context["a"] == 1 and context["b"] == 3
    for key, value in CLI_DEFAULT_CONTEXT.items():
        assert context[key] == value


def test_missing_cdk_json_or_app_is_a_clear_error(tmp_path):
    with pytest.raises(SynthError, match="cdk.json not found"):
        read_cdk_json(tmp_path)
    (tmp_path / "cdk.json").write_text("{}")
    with pytest.raises(SynthError, match='has no "app" command'):
        read_cdk_json(tmp_path)
