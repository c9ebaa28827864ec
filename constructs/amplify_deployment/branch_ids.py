"""Construct ids derived from branch names, so a branch keeps its logical ids whatever other branches
come and go (ids by position shift when a branch is removed, and CloudFormation then replaces the
branches after it, which fails: their names still exist)."""

from __future__ import annotations

import hashlib
import re

_LOSSLESS = re.compile(r"[a-z0-9][A-Za-z0-9]{0,63}")
_WORDS = re.compile(r"[A-Za-z0-9]+")
_READABLE_MAX = 48


def branch_construct_id(name: str) -> str:
    """A construct id part for the branch ``name``: the same name always gives the same id, and two
    different names never give the same id.

    ``main`` -> ``Main``; a name that cannot be kept as it is (any character other than a letter or
    digit, a leading capital, more than 64 characters) is written in CamelCase and followed by the first
    8 hex digits of the SHA-256 of the name: ``feature/login`` -> ``FeatureLogin-<8 hex>``, and
    ``feature-login`` -> ``FeatureLogin-<8 other hex>``. The suffix depends on the name alone, never
    on which other branches exist, so adding ``feature-login`` later does not touch ``feature/login``.
    """
    if _LOSSLESS.fullmatch(name):
        return name[0].upper() + name[1:]
    words = "".join(w[0].upper() + w[1:] for w in _WORDS.findall(name))[:_READABLE_MAX]
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{words}-{digest}"  # the '-' keeps it apart from every id of a name kept as it is
