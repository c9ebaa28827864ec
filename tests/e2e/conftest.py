"""Helpers of the end-to-end tests: temporary copies of apps, fetching served files."""

from pathlib import Path

import pytest

from .site_checks import copy_files

REPO = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"


@pytest.fixture
def example_app(tmp_path):
    """The repository's example app (app.py, cdk.json, site/) in a temporary folder."""
    return copy_files(REPO, tmp_path / "example", ["app.py", "cdk.json", "site"])


@pytest.fixture
def two_branches_app(tmp_path):
    return copy_files(
        APPS / "two_branches", tmp_path / "two_branches", ["app.py", "cdk.json", "site_main", "site_preview"]
    )
