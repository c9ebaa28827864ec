"""Which files of the merged site are deployed, and under which path (pure, stdlib only).

The construct library imports these rules for its synth-time checks, so a value the handler would
refuse fails synth with the same reason.

Filters (`exclude`, `include`) have the meaning they have in aws-cdk-lib's `BucketDeployment`, which
hands them to `aws s3 sync`:

- every file is included to begin with;
- the filters are evaluated in order, every exclude first and then every include (the order in which
  BucketDeployment puts them on the `aws s3 sync` command line), and the last filter that matches a
  file decides: an include therefore wins over an exclude;
- a pattern is matched against the file's path relative to the site root, the way `aws s3 sync`
  does with `fnmatch`: `*` matches any run of characters, `/` included (`*.map` matches
  `js/app.js.map`), `?` one character, `[abc]` / `[!abc]` one character of / not of a set. Matching
  is case-sensitive (as on Lambda's Linux).

They apply to the merged site (after a later source has won on the same path), before deploy-time
values are substituted (they select paths; contents are not looked at).

The destination key prefix puts every file of the site under a folder: `docs/` turns `index.html`
into `docs/index.html`. It is relative, has no empty, `.` or `..` segment, and is normalised to end
with one `/`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence

from .rules import FILE_NAME_MAX

EXCLUDE = "exclude"
INCLUDE = "include"
# A prefix leaves room for at least one character of a file name in FILES mode (fileMap keys are at
# most FILE_NAME_MAX characters).
KEY_PREFIX_MAX = FILE_NAME_MAX - 1

_DRIVE = re.compile(r"[A-Za-z]:(/|$)")


def is_absolute(path: str) -> bool:
    """A leading '/' or a drive ('C:/'): a path that would not stay under the site root."""
    return path.startswith("/") or _DRIVE.match(path) is not None


def pattern_problem(pattern: object) -> str | None:
    """None when ``pattern`` is a usable filter pattern, else what is wrong with it (one phrase)."""
    if not isinstance(pattern, str):
        return "must be a string"
    if not pattern:
        return "must not be empty"
    if "\\" in pattern or "\x00" in pattern:
        return "contains a backslash or NUL; paths use '/'"
    if pattern.startswith("/"):
        return "starts with '/'; patterns match paths relative to the site root (drop the '/')"
    return None


def ordered_filters(exclude: Sequence[str], include: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(kind, pattern) in evaluation order: every exclude, then every include (BucketDeployment's order)."""
    return tuple((EXCLUDE, p) for p in exclude) + tuple((INCLUDE, p) for p in include)


class SiteFilter:
    """Decides which paths of the merged site are deployed; see the module's docstring."""

    def __init__(self, exclude: Sequence[str] = (), include: Sequence[str] = ()) -> None:
        self.filters = ordered_filters(exclude, include)
        self._compiled = [
            (kind == INCLUDE, re.compile(fnmatch.translate(pattern))) for kind, pattern in self.filters
        ]

    @property
    def active(self) -> bool:
        """False when there is no filter (every file is deployed)."""
        return bool(self.filters)

    def includes(self, path: str) -> bool:
        """Whether the site path (relative, '/'-separated) is deployed: the last matching filter decides."""
        included = True
        for is_include, regex in self._compiled:
            if regex.match(path):
                included = is_include
        return included

    def select(self, paths: Iterable[str]) -> list[str]:
        return [p for p in paths if self.includes(p)]


def key_prefix_problem(prefix: str) -> str | None:
    """None when ``prefix`` is a usable destination key prefix ('' means the site root)."""
    if not prefix:
        return None
    if "\\" in prefix or "\x00" in prefix:
        return "contains a backslash or NUL; use '/' separators"
    if is_absolute(prefix):
        return "must be relative (no leading '/'), e.g. 'docs/'"
    body = prefix[:-1] if prefix.endswith("/") else prefix
    if any(part in ("", ".", "..") for part in body.split("/")):
        return "must not contain empty, '.' or '..' segments"
    if len(body) + 1 > KEY_PREFIX_MAX:
        return f"is longer than {KEY_PREFIX_MAX} characters ({len(body) + 1})"
    return None


def normalize_key_prefix(prefix: str) -> str:
    """'' -> '' (the site root); 'docs' or 'docs/' -> 'docs/'. Call key_prefix_problem() first."""
    if not prefix:
        return ""
    return prefix if prefix.endswith("/") else prefix + "/"
