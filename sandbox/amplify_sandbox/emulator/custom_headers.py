"""An app's ``customHeaders`` YAML (Amplify Hosting user guide, "Setting custom headers"), parsed and
matched against request paths. Pure: no HTTP and no I/O.

    rules = parse_custom_headers(app.custom_headers)  # once per app update
    headers_for(rules, "/assets/app.js", status=200)  # {"Cache-Control": "...", ...}

The YAML is read by a small parser of the block subset the documented shape needs (mappings,
sequences, plain and quoted scalars, comments): PyYAML is not a pinned dependency of the sandbox.
Anything else (flow collections, block scalars, anchors) is refused with the line number. Scalars stay
strings. Pattern semantics, precedence and the other assumptions are in docs/hosting-rules.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class CustomHeadersError(ValueError):
    """The customHeaders YAML is not of the documented shape; the message names the line or entry."""


@dataclass(frozen=True)
class HeaderRule:
    """One ``customHeaders`` entry: its pattern, compiled, and its headers in order."""

    pattern: str
    headers: tuple[tuple[str, str], ...]
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """Whether a request's URL path (percent-decoded, e.g. ``/img/a.png``) matches the pattern."""
        rel = path.lstrip("/")
        if "/" not in self.pattern.strip("/"):  # "*.json": the file name, in any folder
            rel = rel.rsplit("/", 1)[-1]
        return self.regex.fullmatch(rel) is not None


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``**`` any characters ('/' included; ``**/`` any folders, none too), ``*`` and ``?`` within a
    folder name; a leading ``/`` is optional. Braces and brackets are literal."""
    glob = pattern.strip().lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def parse_custom_headers(text: str | None, app_root: str | None = None) -> list[HeaderRule]:
    """The rules of a ``customHeaders`` YAML document; with ``applications:`` (a monorepo), those of
    ``app_root`` (optional when there is only one application)."""
    if not text or not text.strip():
        return []
    doc = _Parser(text).parse()
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise CustomHeadersError("customHeaders: the document must be a mapping with a customHeaders key")
    if "applications" in doc:
        listed = doc["applications"]
        apps = [a for a in listed if isinstance(a, dict)] if isinstance(listed, list) else []
        if not isinstance(listed, list) or len(apps) != len(listed):
            raise CustomHeadersError("customHeaders: 'applications' must be a list of mappings")
        chosen = [a for a in apps if app_root is None or a.get("appRoot") == app_root]
        if len(chosen) != 1:
            roots = [a.get("appRoot") for a in apps]
            raise CustomHeadersError(f"customHeaders: give one app_root of {roots} (got {app_root!r})")
        doc = chosen[0]
    entries = doc.get("customHeaders")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise CustomHeadersError("customHeaders: 'customHeaders' must be a list of pattern entries")
    return [_rule(n, entry) for n, entry in enumerate(entries)]


def _rule(n: int, entry: object) -> HeaderRule:
    where = f"customHeaders[{n}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str) or not entry["pattern"]:
        raise CustomHeadersError(f"{where}: needs a non-empty 'pattern'")
    pattern: str = entry["pattern"]
    items = entry.get("headers")
    if not isinstance(items, list) or not items:
        raise CustomHeadersError(f"{where} (pattern {pattern!r}): needs a non-empty 'headers' list")
    headers: list[tuple[str, str]] = []
    for m, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or "value" not in item:
            raise CustomHeadersError(f"{where}.headers[{m}]: needs 'key' and 'value'")
        key, value = item["key"], item["value"]
        if not isinstance(value, str) or not _TOKEN_CHARS.fullmatch(key) or "\r" in value or "\n" in value:
            raise CustomHeadersError(f"{where}.headers[{m}]: {key!r} is not a valid header name and value")
        headers.append((key, value))
    return HeaderRule(pattern, tuple(headers), glob_regex(pattern))


def headers_for(
    rules: Sequence[HeaderRule],
    path: str,
    status: int = 200,
    precedence: Literal["last", "first"] = "last",
) -> dict[str, str]:
    """The custom headers of a response to ``path`` with ``status``. Every matching entry applies;
    when several set one header (names compared case-insensitively), the ``last`` (default) or the
    ``first`` wins. Cache-Control only applies to 200 responses (the user guide says so)."""
    chosen: dict[str, tuple[str, str]] = {}
    for rule in rules:
        if not rule.matches(path):
            continue
        for key, value in rule.headers:
            lower = key.lower()
            if lower == "cache-control" and status != 200:
                continue
            if precedence == "last" or lower not in chosen:
                chosen.pop(lower, None)
                chosen[lower] = (key, value)
    return dict(chosen.values())


# ------------------------------------------------------------------ the YAML subset
_Value = str | list["_Value"] | dict[str, "_Value"] | None


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines: list[tuple[int, int, str]] = []  # (line number, indent, content)
        for no, raw in enumerate(text.splitlines(), 1):
            content = raw.strip()
            if not content or content.startswith("#") or content in ("---", "..."):
                continue
            indent = len(raw) - len(raw.lstrip(" "))
            if raw[indent] == "\t":
                self.fail(no, "tabs cannot indent YAML")
            self.lines.append((no, indent, content))
        self.i = 0

    @staticmethod
    def fail(no: int, why: str) -> None:
        raise CustomHeadersError(f"customHeaders line {no}: {why}")

    def parse(self) -> _Value:
        if not self.lines:
            return None
        value = self.block(self.lines[0][1])
        if self.i < len(self.lines):
            self.fail(self.lines[self.i][0], "unexpected indentation")
        return value

    def block(self, indent: int) -> _Value:
        return self.seq(indent) if _is_item(self.lines[self.i][2]) else self.mapping(indent)

    def seq(self, indent: int) -> list[_Value]:
        items: list[_Value] = []
        while self.i < len(self.lines):
            no, ind, text = self.lines[self.i]
            if ind != indent or not _is_item(text):
                break
            rest = text[1:].lstrip(" ")
            if not rest:
                self.i += 1
                nested = self.i < len(self.lines) and self.lines[self.i][1] > indent
                items.append(self.block(self.lines[self.i][1]) if nested else None)
            elif _is_item(rest) or _split_key(rest) is not None:
                self.lines[self.i] = (no, indent + len(text) - len(rest), rest)
                items.append(self.block(self.lines[self.i][1]))
            else:
                items.append(self.scalar(rest, no))
                self.i += 1
        return items

    def mapping(self, indent: int) -> dict[str, _Value]:
        result: dict[str, _Value] = {}
        while self.i < len(self.lines):
            no, ind, text = self.lines[self.i]
            if ind < indent or (ind == indent and _is_item(text)):
                break
            if ind > indent:
                self.fail(no, "unexpected indentation")
            split = _split_key(text)
            if split is None:
                self.fail(no, "expected 'key: value'")
                break
            key, rest = split
            key = str(self.scalar(key, no))
            if key in result:
                self.fail(no, f"duplicate key {key!r}")
            self.i += 1
            if rest:
                result[key] = self.scalar(rest, no)
            elif self.i < len(self.lines) and self.lines[self.i][1] > indent:
                result[key] = self.block(self.lines[self.i][1])
            elif (
                self.i < len(self.lines)
                and self.lines[self.i][1] == indent
                and _is_item(self.lines[self.i][2])
            ):
                result[key] = self.seq(indent)
            else:
                result[key] = None
        return result

    def scalar(self, text: str, no: int) -> _Value:
        if text[0] in "'\"":
            end = _closing_quote(text)
            if end is None:
                self.fail(no, "unterminated quoted string (multi-line strings are not supported)")
                return None
            tail = text[end + 1 :].strip()
            if tail and not tail.startswith("#"):
                self.fail(no, f"unexpected text after the quoted string: {tail!r}")
            body = text[1:end]
            if text[0] == "'":
                return body.replace("''", "'")
            try:
                decoded: str = json.loads('"' + body + '"')
            except ValueError:
                self.fail(no, "unsupported escape in a double-quoted string")
                return None
            return decoded
        if text in ("[]", "{}"):
            return [] if text == "[]" else {}
        if text[0] in "[{|>&*!%@`":
            self.fail(
                no, f"{text[:20]!r}: quote the value (flow, block, anchor and tag syntax are not supported)"
            )
        return re.split(r"\s#", text, maxsplit=1)[0].strip()


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def _split_key(text: str) -> tuple[str, str] | None:
    if text[0] in "'\"":
        end = _closing_quote(text)
        if end is None or not text[end + 1 :].startswith(":"):
            return None
        key, rest = text[: end + 1], text[end + 2 :]
        if rest and rest[0] != " ":
            return None
    else:
        m = re.search(r":(?:\s|$)", text)
        if m is None or m.start() == 0 or " #" in text[: m.start()]:
            return None
        key, rest = text[: m.start()].strip(), text[m.end() :]
    rest = rest.strip()
    return key, "" if rest.startswith("#") else rest


def _closing_quote(text: str) -> int | None:
    quote, i = text[0], 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if quote == "'" and text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    return None
