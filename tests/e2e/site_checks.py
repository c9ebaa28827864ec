"""Checks of the end-to-end tests, also used by tests/reliability: temporary copies of apps, fetching
and comparing served files."""

import shutil
import urllib.error
import urllib.request
from pathlib import Path


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
            return bytes(response.read())
    except urllib.error.HTTPError as err:
        if err.code in (403, 404):  # a path with no file (403 AccessDenied, as Amplify answers)
            return None
        raise


def site_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_served(url: str, expected: dict[str, bytes]) -> None:
    for rel, content in expected.items():
        served = fetch(url + rel)
        assert served == content, f"{url + rel}: served {served[:80] if served else served!r}"
