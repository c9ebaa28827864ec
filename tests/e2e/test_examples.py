"""Every example in examples/, and the README's quick-start snippet pasted into a new app, deployed in
the sandbox with the commands its docstring gives (plus --once), one process per command as a user
runs them; then served: a Sandbox on the app's emulator state serves what the deploy left live.

One deploy per example (each costs a synth); the checks of an example share it."""

import ast
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack, copy_app

from .site_checks import assert_served, fetch, site_files

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLI = [sys.executable, "-m", "amplify_sandbox"]


def _env():
    return dict(os.environ, PYTHONUNBUFFERED="1", JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")


def local_commands(app_py: Path) -> list[str]:
    """The ``amplify-sandbox ...`` lines of an app's docstring."""
    doc = ast.get_docstring(ast.parse(app_py.read_text())) or ""
    return [line.strip() for line in doc.splitlines() if line.strip().startswith("amplify-sandbox ")]


def run_commands(name: str, app_dir: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run the example's docstring commands on ``app_dir`` (a copy of ``examples/<name>``): a deploy
    gets --once, ``<the printed id>`` is what the previous command printed."""
    commands = local_commands(EXAMPLES / name / "app.py")
    assert commands, f"examples/{name}/app.py: its docstring shows no amplify-sandbox command"
    done: list[subprocess.CompletedProcess[str]] = []
    for command in commands:
        argv = shlex.split(command.split("#", 1)[0].replace("<the printed id>", "PRINTED_ID"))
        argv = [str(app_dir) if arg == f"examples/{name}" else arg for arg in argv[1:]]
        if done:
            argv = [a.replace("PRINTED_ID", done[-1].stdout.strip()) for a in argv]
        if argv[0] == "deploy":
            argv.insert(1, "--once")
        proc = subprocess.run([*CLI, *argv], capture_output=True, text=True, env=_env(), timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        done.append(proc)
    return done


@contextlib.contextmanager
def served(app_dir: Path) -> Iterator[list[tuple[str, str, str]]]:
    """The (app id, branch, URL) of the app's deployed sites, served by a Sandbox on its emulator state
    until the block ends."""
    sb = Sandbox(state_dir=app_dir / ".amplify-sandbox" / "emulator").start()
    try:
        yield LocalStack(app_dir, sb, log=lambda _l: None).site_urls()
    finally:
        sb.stop()


@pytest.fixture
def example(tmp_path):
    def copy(name: str) -> Path:
        return copy_app(EXAMPLES / name, tmp_path / name)

    return copy


def test_deploy_time_config_serves_the_real_values(example):
    app_dir = example("deploy_time_config")
    (deploy,) = run_commands("deploy_time_config", app_dir)
    assert "DeployTimeConfig: CREATE_COMPLETE" in deploy.stdout
    assert "Placeholders" not in deploy.stdout  # the table and the parameter are real
    state = json.loads((app_dir / ".amplify-sandbox" / "stacks" / "DeployTimeConfig.json").read_text())
    by_type = {res["type"]: res for res in state["resources"].values()}
    table_name = by_type["AWS::DynamoDB::GlobalTable"]["ref"]
    assert table_name.startswith("DeployTimeConfig-Table")
    with served(app_dir) as sites:
        ((_app_id, branch, url),) = sites
        assert branch == "main"
        assert_served(url, site_files(app_dir / "site"))
        assert json.loads(fetch(url + "config.json")) == {
            "tableName": table_name,
            "apiUrl": "https://api.example.com/v1",
            "region": "us-east-1",
        }


def test_existing_app_with_create_app_and_context(example):
    app_dir = example("existing_app")
    created, deploy = run_commands("existing_app", app_dir)
    app_id = created.stdout.strip()
    assert re.fullmatch(r"d[a-z0-9]{13}", app_id), created.stdout
    assert f"ExistingAppDeployment.BranchUrl = https://main.{app_id}.amplifyapp.com" in deploy.stdout
    assert "Site: http://127.0.0.1:" in deploy.stdout
    assert "Not serving (--once)" in deploy.stdout
    with served(app_dir) as sites:
        assert [(a, b) for a, b, _ in sites] == [(app_id, "main")]
        assert_served(sites[0][2], site_files(app_dir / "site"))


def test_preview_branches_each_branch_serves_its_content(example):
    app_dir = example("preview_branches")
    (deploy,) = run_commands("preview_branches", app_dir)
    assert "PreviewBranches: CREATE_COMPLETE" in deploy.stdout
    with served(app_dir) as sites:
        urls = {branch: url for _app, branch, url in sites}
        assert set(urls) == {"main", "feature/login", "feature/search"}
        for branch, url in urls.items():
            assert_served(url, site_files(app_dir / "site"))
            expected = None if branch == "main" else f"document.title += {branch!r};".encode()
            assert fetch(url + "branch.js") == expected


def test_prebuilt_spa_deploys_and_serves(example):
    app_dir = example("prebuilt_spa")
    (deploy,) = run_commands("prebuilt_spa", app_dir)
    assert "PrebuiltSpa: CREATE_COMPLETE" in deploy.stdout
    with served(app_dir) as sites:
        ((_app, _branch, url),) = sites
        assert_served(url, site_files(app_dir / "dist"))
        # client-side routing, headers: the browser test of the example checks what the site serves


QUICK_START_APP = """\
import aws_cdk as cdk
from aws_cdk import aws_amplify as amplify

class SiteStack(cdk.Stack):
    def __init__(self, scope, construct_id):
        super().__init__(scope, construct_id)
        app = amplify.CfnApp(self, "App", name="quick-start")
        branch = amplify.CfnBranch(self, "Main", app_id=app.attr_app_id, branch_name="main")
{snippet}

app = cdk.App()
SiteStack(app, "QuickStart")
app.synth()
"""


def test_readme_quick_start_snippet_in_a_new_app(tmp_path):
    readme = (REPO / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert "AmplifyDeployment(self," in snippet
    app_dir = tmp_path / "quick_start"
    (app_dir / "site").mkdir(parents=True)
    (app_dir / "site" / "index.html").write_text("<!doctype html><h1>Quick start</h1>\n")
    (app_dir / "cdk.json").write_text(json.dumps({"app": "python3 app.py"}))
    (app_dir / "app.py").write_text(QUICK_START_APP.format(snippet=textwrap.indent(snippet, " " * 8)))
    deploy = subprocess.run(
        [*CLI, "deploy", "--once", str(app_dir)], capture_output=True, text=True, env=_env(), timeout=600
    )
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    assert "QuickStart: CREATE_COMPLETE" in deploy.stdout
    with served(app_dir) as sites:
        ((_app, branch, url),) = sites
        assert branch == "main"
        assert_served(url, site_files(app_dir / "site"))
