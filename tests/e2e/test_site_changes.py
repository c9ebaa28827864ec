"""The README's quick start, with what each deploy changed: the example app through the command line,
one process per step. deploy --once (every file added); edit site/ (change, add, remove a file);
diff names the files without deploying; deploy says `+1 ~1 -1`; deploy again says unchanged."""

import os
import subprocess
import sys

CLI = [sys.executable, "-m", "amplify_sandbox"]


def run(*args):
    env = dict(os.environ, PYTHONUNBUFFERED="1", JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1")
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def files_line(stdout):
    """The line printed just under the Site: line."""
    lines = stdout.splitlines()
    (i,) = [n for n, line in enumerate(lines) if line.startswith("Site: ")]
    return lines[i + 1]


def test_deploy_and_diff_say_which_files_changed(example_app):
    site = example_app / "site"
    n_files = sum(1 for p in site.rglob("*") if p.is_file()) + 1  # + config.json (Source.json_data)
    assert files_line(run("deploy", "--once", str(example_app))) == f"  files: +{n_files} ~0 -0"

    index = site / "index.html"
    index.write_text(index.read_text().replace("It works.", "It works, edited."))
    (site / "new.html").write_text("<p>new</p>")
    (site / "about" / "index.html").unlink()

    diff = run("diff", str(example_app))
    assert diff.splitlines() == [
        "Branch main of app "
        + diff.split("Branch main of app ")[1].split()[0]
        + "  (AmplifyDeploymentExample SiteE53D7754)",
        "  + new.html",
        "  ~ index.html",
        "  - about/index.html",
        "  +1 ~1 -1  (1 added, 1 changed, 1 removed)",
    ]

    deployed = run("deploy", "--once", str(example_app))
    assert files_line(deployed) == "  files: +1 ~1 -1"
    assert '"stage":"changes","added":1,"changed":1,"removed":1,"added_paths":["new.html"]' in deployed
    assert "X-Amz-Signature" not in deployed

    assert run("diff", str(example_app)).splitlines()[1:] == ["  unchanged"]
    assert files_line(run("deploy", "--once", str(example_app))) == "  files: unchanged (not redeployed)"
