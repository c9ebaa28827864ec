"""The list operations' pages (ListApps, ListBranches): ``maxResults`` and an opaque ``nextToken``.

A token is base64 of the sort key of the next item to list, so a page boundary survives items being
added or deleted between two calls (the model only says the token is opaque, at most 2000 characters).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from .exceptions import BadRequestException

_T = TypeVar("_T")
SortKey = tuple[float, str]


def limit(max_results: int | None, most: int) -> int:
    """The page size: ``max_results`` within 0..``most`` (the model's range), 0 or None meaning ``most``."""
    if max_results is not None and not 0 <= max_results <= most:
        raise BadRequestException(f"maxResults must be between 0 and {most}.")
    return max_results or most


def encode(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps({"from": list(key)}).encode()).decode()


def decode(token: str) -> SortKey:
    try:
        when, name = json.loads(base64.urlsafe_b64decode(token.encode()))["from"]
        return float(when), str(name)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadRequestException("Invalid nextToken.") from exc


def page(
    items: Sequence[_T], key: Callable[[_T], SortKey], size: int, token: str | None
) -> tuple[list[_T], str | None]:
    """The page of ``items`` (sorted by ``key``) that ``token`` starts, and the next page's token."""
    start = decode(token) if token else None
    ordered = sorted((i for i in items if start is None or key(i) >= start), key=key)
    rest = ordered[size:]
    return ordered[:size], encode(key(rest[0])) if rest else None
