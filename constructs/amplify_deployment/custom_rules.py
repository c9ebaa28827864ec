"""Amplify redirect and rewrite rules (an app's ``customRules``), checked at synth time.

What is checked, and why (the Amplify Hosting user guide, "Setting up redirects and rewrites" and its
"example reference"; the API model's ``CustomRule``):

- ``status``: one of ``200`` (rewrite), ``301``, ``302``, ``404``, ``404-200``: the statuses the user
  guide lists; the API model allows any 3 to 7 characters, but no other status has a meaning.
- ``source`` and ``target``: 1 to 2048 characters (the model), no space at either end (a trailing
  space makes a rule silently never match: amplify-hosting issue 2129).
- ``source`` is one of the three shapes the user guide documents: a path (``/docs/<*>``, with ``<*>``
  at most once and only at the end), a regular expression ``</.../>`` (it must compile), or a domain
  (``https://example.com``, with no path: the user guide's "Important" note on domain redirects).
- ``condition``: a country code written ``<US>`` (the user guide's "Region-based redirects").

Values that are tokens are not checked (they are known only at deploy time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aws_cdk as cdk

#: the statuses the user guide documents for redirects and rewrites
RULE_STATUSES = ("200", "301", "302", "404", "404-200")
#: the API model's bounds of CustomRule source and target
RULE_TEXT_MAX = 2048
_CONDITION = re.compile(r"<[A-Za-z]{2}>")
_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")
_HOST = re.compile(r"^(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])\.?$")


@dataclass(frozen=True)
class CustomRule:
    """One redirect or rewrite rule, as in the Amplify console.

    ``CustomRule("/old/<*>", "/new/<*>")`` redirects (301); ``status="200"`` rewrites;
    ``CustomRule("https://example.com", "https://www.example.com")`` redirects the apex to ``www``.
    """

    source: str
    target: str
    status: str = "301"
    condition: str | None = None


def _is_token(value: object) -> bool:
    return isinstance(value, str) and cdk.Token.is_unresolved(value)


def _source_problem(source: str) -> str | None:
    if source.startswith("</") and source.endswith("/>") and len(source) >= 4:
        try:
            re.compile(_JS_NAMED_GROUP.sub("(?P<", source[2:-2]))
        except re.error as exc:
            return f"its regular expression does not compile ({exc})"
        return None
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return "a domain source is a domain alone (https://example.com), with no path or query"
        if not _HOST.match(parts.hostname or "") or parts.port is not None:
            return f"{parts.netloc!r} is not a domain name"
        return None
    if not source.startswith("/"):
        return (
            "a source is a path starting with '/', a regular expression '</.../>' or a domain 'https://...'"
        )
    path = source.partition("?")[0]
    if path.count("<*>") > 1 or ("<*>" in path and not path.endswith("<*>")):
        return "'<*>' may appear once, at the end of the path"
    return None


def rule_problem(rule: CustomRule) -> str | None:
    """What Amplify would refuse or never match in ``rule``, or None."""
    for name in ("source", "target"):
        value = getattr(rule, name)
        if not isinstance(value, str):
            return f"{name} must be a string, got {value!r}"
        if _is_token(value):
            continue
        if not 1 <= len(value) <= RULE_TEXT_MAX:
            return f"{name} must be 1-{RULE_TEXT_MAX} characters"
        if value != value.strip():
            return f"{name} {value!r} has a space at an end (Amplify would never match it)"
    if not _is_token(rule.status) and rule.status not in RULE_STATUSES:
        return f"status must be one of {', '.join(RULE_STATUSES)}, got {rule.status!r}"
    if not _is_token(rule.source):
        problem = _source_problem(rule.source)
        if problem:
            return f"source {rule.source!r}: {problem}"
    if rule.condition is not None and not _is_token(rule.condition):
        if not isinstance(rule.condition, str) or not _CONDITION.fullmatch(rule.condition):
            return f"condition must be a country code written like '<US>', got {rule.condition!r}"
    return None


def as_rule(value: CustomRule | Mapping[str, str | None]) -> CustomRule:
    """A ``CustomRule`` from itself or from a mapping of ``source``/``target``/``status``/``condition``."""
    if isinstance(value, CustomRule):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"a custom rule is a CustomRule or a mapping, got {value!r}")
    unknown = set(value) - {"source", "target", "status", "condition"}
    if unknown or "source" not in value or "target" not in value:
        raise ValueError(
            "a custom rule mapping has 'source', 'target' and optionally 'status', 'condition'; "
            f"got {dict(value)!r}"
        )
    return CustomRule(
        source=value["source"],  # type: ignore[arg-type]
        target=value["target"],  # type: ignore[arg-type]
        status=value.get("status") or "301",
        condition=value.get("condition"),
    )
