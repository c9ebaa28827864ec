"""Building and inspecting the package as users get it: the sdist and wheel built from a copy of the
tree, a fresh virtualenv outside the checkout, and the checks that compare a wheel with the tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Where each top-level package's source lives in the tree (pyproject.toml's discovery roots).
SOURCE_ROOTS = {
    "amplify_deployment": REPO / "constructs" / "amplify_deployment",
    "amplify_deployment_handler": REPO / "lambda" / "amplify_deployment_handler",
    "amplify_sandbox": REPO / "sandbox" / "amplify_sandbox",
}
# Folders of a working checkout that are not part of the project (caches, installs, outputs).
NOT_SOURCE = {
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    ".amplify-sandbox",
    "build",
    "dist",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "test-artifacts",
}


def run(
    cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def copy_tree(dest: Path) -> Path:
    """The project's files (tracked, plus new ones git does not ignore) copied to ``dest``: what a
    clone holds, without the checkout's caches or an earlier build's leftovers (a stale build/ folder
    can put a deleted module back into a wheel)."""
    if (REPO / ".git").exists() and shutil.which("git"):
        listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO).stdout
        names = [n for n in listed.split("\0") if n and (REPO / n).is_file()]
    else:  # an unpacked archive of the repository
        names = [
            p.relative_to(REPO).as_posix()
            for p in REPO.rglob("*")
            if p.is_file() and not NOT_SOURCE.intersection(p.relative_to(REPO).parts)
        ]
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return dest


def build(src: Path, out: Path, *what: str) -> list[Path]:
    """``python -m build`` (sdist, then a wheel from that sdist; or only what is asked), without build
    isolation: the pinned setuptools of this environment, nothing fetched."""
    out.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "build", "--no-isolation", *what, "--outdir", str(out), str(src)], cwd=src)
    return sorted(out.iterdir())


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def wheel_payload(wheel: Path) -> dict[str, bytes]:
    """Every file of a wheel but RECORD (which lists the others' hashes), by name."""
    with zipfile.ZipFile(wheel) as zf:
        return {n: zf.read(n) for n in zf.namelist() if not n.endswith(".dist-info/RECORD")}


def expected_package_files(roots: dict[str, Path] = SOURCE_ROOTS) -> set[str]:
    """What the tree says the wheel must hold: every module of every package folder, and each
    package's py.typed, at its import path."""
    names: set[str] = set()
    for package, root in roots.items():
        for path in root.rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix == ".py" or path.name == "py.typed":
                names.add(f"{package}/{path.relative_to(root).as_posix()}")
    return names


def missing_from_wheel(wheel: Path, roots: dict[str, Path] = SOURCE_ROOTS) -> list[str]:
    return sorted(expected_package_files(roots) - wheel_names(wheel))


def sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/")[0]
        return {n[len(top) + 1 :] for n in tf.getnames() if n != top}


def tree_version() -> str:
    text = (SOURCE_ROOTS["amplify_deployment"] / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert match, "amplify_deployment/__init__.py must define __version__ as a literal"
    return match.group(1)


def constraints_file(dest: Path) -> Path:
    """The repository's pins (requirements*.txt) as a pip constraints file (no extras, no -r), so the
    fresh virtualenv gets the versions that CI tests and the pip cache holds."""
    pins: dict[str, str] = {}
    for req in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / req).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            name, _, version = line.partition("==")
            pins[re.sub(r"\[.*\]", "", name).strip().lower()] = version.strip()
    dest.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items()) if v))
    return dest


def user_env(venv: Path) -> dict[str, str]:
    """A shell as a user has it after ``. venv/bin/activate``: that venv's bin first on PATH, nothing of
    this checkout (no PYTHONPATH, not the checkout's .venv)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")
        and not k.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_"))
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not p.startswith(str(REPO))]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONUNBUFFERED"] = "1"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env
