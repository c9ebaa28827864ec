"""What a user installs is what is tested: the sdist and the wheel are built from a copy of the tree,
the wheel is installed with ``[sandbox]`` into a fresh virtualenv outside the checkout, and an app in
a folder of its own is synthesized, deployed into the sandbox and served through that environment
alone (the checkout is on no ``sys.path`` and the checkout's .venv on no PATH)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from .artifacts import (
    REPO,
    SOURCE_ROOTS,
    build,
    constraints_file,
    copy_tree,
    expected_package_files,
    missing_from_wheel,
    run,
    sdist_names,
    tree_version,
    user_env,
    wheel_names,
    wheel_payload,
)

SUBPACKAGES = sorted(
    ".".join((pkg, *init.parent.relative_to(root).parts))
    for pkg, root in SOURCE_ROOTS.items()
    for init in root.rglob("__init__.py")
    if "__pycache__" not in init.parts
)


def _split(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    return [p for p in paths if p.name.endswith(".tar.gz")], [p for p in paths if p.suffix == ".whl"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """sdist + the wheel built from it, and a wheel built straight from the tree."""
    work = tmp_path_factory.mktemp("package")
    src = copy_tree(work / "src")
    (sdist,), (wheel_from_sdist,) = _split(build(src, work / "dist"))
    (wheel_from_tree,) = build(src, work / "dist-tree", "--wheel")
    return {"sdist": sdist, "wheel": wheel_from_sdist, "wheel_from_tree": wheel_from_tree, "work": work}


@pytest.fixture(scope="module")
def user_venv(built: dict[str, Path]) -> Path:
    """A fresh virtualenv with the wheel and its [sandbox] extra (and pytest, for the outside test),
    at the versions the repository pins."""
    env_dir = built["work"] / "user-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    constraints = constraints_file(built["work"] / "constraints.txt")
    run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "-c",
            str(constraints),
            f"cdk-amplify-deployment[sandbox] @ {built['wheel'].as_uri()}",
            "pytest",
        ],
        cwd=built["work"],
        env=user_env(env_dir),
        timeout=900,
    )
    return env_dir


@pytest.fixture(scope="module")
def user_app(built: dict[str, Path]) -> Path:
    """A CDK app as a user writes one, in a folder of its own: an AmplifyStaticSite with two branches
    (main and next, each its own content) and an AmplifyDeployment to an app and branch of its own."""
    app = built["work"] / "user-app"
    (app / "site").mkdir(parents=True)
    (app / "site" / "index.html").write_text("<h1>user site, main</h1>\n")
    (app / "site" / "css").mkdir()
    (app / "site" / "css" / "app.css").write_text("h1 { color: teal }\n")
    (app / "next-site").mkdir()
    (app / "next-site" / "index.html").write_text("<h1>user site, next</h1>\n")
    (app / "docs").mkdir()
    (app / "docs" / "index.html").write_text("<h1>docs</h1>\n")
    (app / "docs" / "guide.txt").write_text("read me\n")
    (app / "cdk.json").write_text(json.dumps({"app": "python3 app.py"}))
    (app / "app.py").write_text(
        textwrap.dedent("""\
        import aws_cdk as cdk
        from aws_cdk import aws_amplify as amplify
        from aws_cdk import aws_s3_deployment as s3deploy
        from constructs import Construct

        from amplify_deployment import AmplifyDeployment, AmplifyStaticSite, UploadMode


        class UserStack(cdk.Stack):
            def __init__(self, scope: Construct, construct_id: str) -> None:
                super().__init__(scope, construct_id)
                site = AmplifyStaticSite(self, "Site", path="site", branches=["main"])
                site.add_branch("next", sources=[s3deploy.Source.asset("next-site")], stage="DEVELOPMENT")

                docs_app = amplify.CfnApp(self, "DocsApp", name="user-docs")
                docs_branch = amplify.CfnBranch(
                    self, "DocsMain", app_id=docs_app.attr_app_id, branch_name="main"
                )
                AmplifyDeployment(
                    self, "Docs", app=docs_app, branch=docs_branch,
                    sources=[s3deploy.Source.asset("docs")], upload_mode=UploadMode.FILES,
                )


        app = cdk.App()
        UserStack(app, "UserStack")
        app.synth()
        """)
    )
    return app


def test_wheel_holds_every_module_and_data_file_of_the_tree(built: dict[str, Path]) -> None:
    wheel = built["wheel"]
    assert missing_from_wheel(wheel) == []
    names = wheel_names(wheel)
    for package in SOURCE_ROOTS:
        assert f"{package}/py.typed" in names
    assert "amplify_sandbox/driver/lambda_bootstrap.py" in names  # run as a file by the local Lambda runner
    version = tree_version()
    assert wheel.name.startswith(f"cdk_amplify_deployment-{version}-")
    dist_info = f"cdk_amplify_deployment-{version}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(f"{dist_info}/METADATA").decode()
        license_text = zf.read(f"{dist_info}/licenses/LICENSE").decode()
    assert re.search(rf"^Version: {re.escape(version)}$", metadata, re.M)
    assert re.search(r"^License-Expression: Apache-2.0$", metadata, re.M)
    assert re.search(r"^License-File: LICENSE$", metadata, re.M)
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert license_text == (REPO / "LICENSE").read_text()


def test_wheel_built_from_the_sdist_equals_the_wheel_built_from_the_tree(built: dict[str, Path]) -> None:
    from_sdist, from_tree = wheel_payload(built["wheel"]), wheel_payload(built["wheel_from_tree"])
    assert sorted(from_sdist) == sorted(from_tree)
    assert [n for n in from_sdist if from_sdist[n] != from_tree[n]] == []


def test_sdist_holds_the_sources_license_and_readme(built: dict[str, Path]) -> None:
    names = sdist_names(built["sdist"])
    assert {"LICENSE", "README.md", "pyproject.toml"} <= names
    roots = {
        "amplify_deployment": "constructs",
        "amplify_deployment_handler": "lambda",
        "amplify_sandbox": "sandbox",
    }
    in_tree = {f"{roots[n.split('/')[0]]}/{n}" for n in expected_package_files()}
    assert sorted(in_tree - names) == []


@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_the_completeness_check_fails_when_the_packaging_drops_a_subpackage(
    built: dict[str, Path], tmp_path: Path, subpackage: str
) -> None:
    """The check above can fail: a wheel built with any one (sub)package left out of discovery is
    caught, naming that package's modules."""
    src = copy_tree(tmp_path / "src")
    pyproject = src / "pyproject.toml"
    text = pyproject.read_text()
    assert "namespaces = false\n" in text
    pyproject.write_text(
        text.replace("namespaces = false\n", f'namespaces = false\nexclude = ["{subpackage}"]\n')
    )
    (wheel,) = build(src, tmp_path / "dist", "--wheel")
    missing = missing_from_wheel(wheel)
    prefix = subpackage.replace(".", "/") + "/"
    assert f"{prefix}__init__.py" in missing
    assert all(m.startswith(prefix) for m in missing)


def test_the_installed_package_is_imported_from_the_virtualenv_not_the_checkout(
    user_venv: Path, user_app: Path
) -> None:
    probe = (
        "import json, sys, amplify_deployment, amplify_deployment_handler, amplify_sandbox;"
        "print(json.dumps({'files': [m.__file__ for m in (amplify_deployment, amplify_deployment_handler,"
        " amplify_sandbox)], 'path': sys.path, 'version': amplify_deployment.__version__}))"
    )
    out = json.loads(
        run([str(user_venv / "bin" / "python"), "-c", probe], cwd=user_app, env=user_env(user_venv)).stdout
    )
    site_packages = str(user_venv / "lib")
    assert all(f.startswith(site_packages) for f in out["files"]), out["files"]
    assert not [p for p in out["path"] if p and Path(p).resolve().is_relative_to(REPO)], out["path"]
    assert out["version"] == tree_version()
    shown = run(
        [str(user_venv / "bin" / "python"), "-m", "pip", "show", "cdk-amplify-deployment"],
        cwd=user_app,
        env=user_env(user_venv),
    ).stdout
    assert f"Version: {tree_version()}" in shown


@pytest.mark.parametrize(
    "command", [["amplify-sandbox", "--help"], ["python", "-m", "amplify_sandbox", "--help"]]
)
def test_the_installed_cli_answers_help(user_venv: Path, user_app: Path, command: list[str]) -> None:
    proc = run([str(user_venv / "bin" / command[0]), *command[1:]], cwd=user_app, env=user_env(user_venv))
    for sub in ("deploy", "destroy", "emulator", "create-app"):
        assert sub in proc.stdout


def _handler_asset(cdk_out: Path) -> Path:
    template = json.loads((cdk_out / "UserStack.template.json").read_text())
    functions = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "amplify_deployment_handler.index.handler"
    ]
    assert len(functions) == 1, "one handler function for the stack's deployments (same settings)"
    asset_hash = functions[0]["Metadata"]["aws:asset:path"]
    return cdk_out / asset_hash


def test_a_user_app_synthesizes_with_the_whole_handler_in_its_code_asset(
    user_venv: Path, user_app: Path
) -> None:
    cdk = REPO / "node_modules" / ".bin" / "cdk"
    assert cdk.exists(), "the pinned CDK CLI (scripts/setup runs npm ci)"
    run([str(cdk), "synth", "--quiet"], cwd=user_app, env=user_env(user_venv), timeout=600)
    asset = _handler_asset(user_app / "cdk.out")
    bundled = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()}
    handler_root = SOURCE_ROOTS["amplify_deployment_handler"]
    expected = {
        f"amplify_deployment_handler/{p.relative_to(handler_root).as_posix()}"
        for p in handler_root.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert sorted(expected - bundled) == []
    assert {"crhelper/__init__.py", "crhelper/resource_helper.py", "crhelper/utils.py"} <= bundled
    assert "amplify_deployment_handler/py.typed" in bundled


def _site_lines(output: str) -> dict[tuple[str, str], str]:
    """{(app name, branch): url} from the ``Site: <url>  (app <name> <id>, branch <branch>)`` lines."""
    lines = re.findall(r"^Site: (\S+)\s+\(app (\S+) \S+, branch (\S+)\)", output, re.M)
    return {(name, branch): url for url, name, branch in lines}


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def test_a_user_app_deploys_once_then_redeploys_and_serves_through_the_installed_cli(
    user_venv: Path, user_app: Path
) -> None:
    env = user_env(user_venv)
    cli = str(user_venv / "bin" / "amplify-sandbox")
    once = run([cli, "deploy", "--once", str(user_app)], cwd=user_app, env=env, timeout=900, check=False)
    assert once.returncode == 0, once.stdout[-4000:] + once.stderr[-4000:]
    assert "UserStack: CREATE_COMPLETE" in once.stdout
    sites = _site_lines(once.stdout)
    assert {b for (_, b) in sites} == {"main", "next"} and len(sites) == 3, once.stdout[-2000:]

    (user_app / "site" / "index.html").write_text("<h1>user site, main, edited</h1>\n")
    proc = subprocess.Popen(
        [cli, "deploy", str(user_app)],
        cwd=user_app,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        seen: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("Serving"):
                break
        output = "".join(seen)
        assert "UserStack: UPDATE_COMPLETE" in output, output[-4000:]
        served = _site_lines(output)
        assert len(served) == 3, output[-2000:]
        expected = {
            "main": {
                "index.html": b"<h1>user site, main, edited</h1>\n",
                "css/app.css": b"h1 { color: teal }\n",
            },
            "next": {"index.html": b"<h1>user site, next</h1>\n"},
            "docs": {"index.html": b"<h1>docs</h1>\n", "guide.txt": b"read me\n"},
        }
        for (app_name, branch), url in served.items():
            files = expected["docs" if app_name == "user-docs" else branch]
            for rel, content in files.items():
                assert _fetch(url + rel) == content, (app_name, branch, rel)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


OUTSIDE_TEST = """\
import io
import time
import urllib.request
import zipfile


def test_a_manual_deployment_in_the_installed_sandbox(sandbox):
    amplify = sandbox.client("amplify")
    app_id = amplify.create_app(name="outside")["app"]["appId"]
    amplify.create_branch(appId=app_id, branchName="main")
    created = amplify.create_deployment(appId=app_id, branchName="main")
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as zf:
        zf.writestr("index.html", "<p>from outside</p>")
    put = urllib.request.Request(created["zipUploadUrl"], data=body.getvalue(), method="PUT")
    urllib.request.urlopen(put, timeout=30).close()
    amplify.start_deployment(appId=app_id, branchName="main", jobId=created["jobId"])
    for _ in range(300):
        job = amplify.get_job(appId=app_id, branchName="main", jobId=created["jobId"])["job"]
        status = job["summary"]["status"]
        if status in ("SUCCEED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.1)
    assert status == "SUCCEED"
    with urllib.request.urlopen(sandbox.emulator.site_url(app_id, "main") + "index.html", timeout=30) as r:
        assert r.read() == b"<p>from outside</p>"
"""


def test_an_outside_pytest_file_uses_the_installed_sandbox_fixture(
    user_venv: Path, built: dict[str, Path]
) -> None:
    folder = built["work"] / "outside-tests"
    folder.mkdir()
    (folder / "test_outside.py").write_text(OUTSIDE_TEST)
    proc = run(
        [
            str(user_venv / "bin" / "python"),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "test_outside.py",
        ],
        cwd=folder,
        env=user_env(user_venv),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(r"^1 passed", proc.stdout, re.M), proc.stdout[-2000:]
