"""Helpers of the end-to-end tests: temporary copies of apps, fetching served files."""

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"


def copy_files(src: Path, dst: Path, names: list[str]) -> Path:
    dst.mkdir(parents=True)
    for name in names:
        if (src / name).is_dir():
            shutil.copytree(src / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src / name, dst / name)
    return dst


def fetch(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def site_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_served(url: str, expected: dict[str, bytes]) -> None:
    for rel, content in expected.items():
        served = fetch(url + rel)
        assert served == content, f"{url + rel}: served {served[:80] if served else served!r}"


@pytest.fixture
def example_app(tmp_path):
    """The repository's example app (app.py, cdk.json, site/) in a temporary folder."""
    return copy_files(REPO, tmp_path / "example", ["app.py", "cdk.json", "site"])


@pytest.fixture
def two_branches_app(tmp_path):
    return copy_files(
        APPS / "two_branches", tmp_path / "two_branches", ["app.py", "cdk.json", "site_main", "site_preview"]
    )
