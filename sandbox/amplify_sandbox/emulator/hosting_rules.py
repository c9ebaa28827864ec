"""Amplify Hosting's redirects and rewrites (an app's ``customRules``), as pure functions.

No HTTP and no I/O: the site server asks ``resolve`` what to answer and does it.

    outcome = resolve(app.custom_rules, "/docs/a?x=1", lambda key: key in files)
    # Outcome(kind="redirect", status=301, location="/documents/a?x=1", rule=0, notes=())

``file_exists`` gets a site key: the URL path, percent-decoded, without its leading ``/``
(``"about/index.html"``), the way the emulator stores a deployment's files. Parse the rules once
with ``RuleSet(rules)`` when serving many requests. Every rule applied here and every assumption
made where the user guide is silent is listed, with its source, in docs/hosting-rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

Kind = Literal["file", "redirect", "proxy", "denied"]
STATUSES = ("200", "301", "302", "404", "404-200")
# What Amplify answers for a path with no file and no rule (amplify-hosting issues 591, 526, 2881).
ACCESS_DENIED_STATUS = 403
_SAFE = "/!$&'()*+,;=:@-._~"  # what stays unescaped in a value put into a Location
_TOKEN = re.compile(r"<([^<>/?&=]*)>")
_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")


@dataclass(frozen=True)
class Outcome:
    """What the site server answers.

    kind "file":     serve site key ``file`` with ``status`` (200; 404 for a "404" rule's page).
    kind "redirect": ``status`` 301/302 with ``Location: location`` (a path or an absolute URL).
    kind "proxy":    a 200 rewrite to another origin (``location``); not emulated: ``status`` 502.
    kind "denied":   no file and no rule: ``status`` 403 with ``access_denied_body()``.
    ``rule`` is the index in customRules of the rule that decided (None: default handling).
    ``notes`` are things the preview does not do like Amplify; they are stable strings, so the caller
    logs each distinct one once.
    """

    kind: Kind
    status: int
    file: str | None = None
    location: str | None = None
    rule: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    """Knobs for what the documentation leaves open or a local preview cannot know.

    country: the visitor's two-letter country for rules with a ``condition`` (None: such rules are
        skipped, with a note).
    host: the request's host name, for rules whose source is a domain (None: they never match).
    clean_urls_before_404_rules: whether "404"/"404-200" rules treat ``/about`` as found when only
        ``about.html`` or ``about/index.html`` exists (False: they fire, as reported in
        amplify-hosting issue 251).
    """

    country: str | None = None
    host: str | None = None
    clean_urls_before_404_rules: bool = False


@dataclass(frozen=True)
class _Rule:
    index: int
    status: str
    target: str
    condition: str | None
    pattern: re.Pattern[str] | None  # a path source (fullmatch) or a </regex/> source (search)
    is_regex: bool
    names: tuple[str, ...]  # placeholder names, by group number g0, g1, ...
    query: tuple[tuple[str, str], ...]  # the source's query: (name, literal value or "<placeholder>")
    domain: str | None  # a domain source's host name, lower case


def _compile_path(path: str) -> tuple[re.Pattern[str], tuple[str, ...]] | str:
    """A path source as a regex; a string is why the rule is ignored."""
    stars = path.count("<*>")
    if stars > 1 or (stars == 1 and not path.endswith("<*>")):
        return "a <*> wildcard must appear once, at the end of the source; Amplify ignores this rule"
    parts: list[str] = []
    names: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(path):
        parts.append(re.escape(path[pos : m.start()]))
        if m.group(1) == "*":
            parts.append("(?P<star>.*)")
        else:
            parts.append(f"(?P<g{len(names)}>[^/]+)")
            names.append(m.group(1))
        pos = m.end()
    parts.append(re.escape(path[pos:]))
    return re.compile("".join(parts)), tuple(names)


def _compile(index: int, raw: Mapping[str, object]) -> _Rule | str:
    source, target, status = raw.get("source"), raw.get("target"), raw.get("status")
    condition = raw.get("condition")
    if not isinstance(source, str) or not source or not isinstance(target, str) or not target:
        return "it needs a non-empty source and target; the rule is ignored"
    if status not in STATUSES:
        return f"status {status!r} is not one of {', '.join(STATUSES)}; the rule is ignored"
    assert isinstance(status, str)
    cond = condition.strip("<>").upper() if isinstance(condition, str) and condition else None
    if not target.startswith(("/", "http://", "https://")):
        target = "/" + target  # the user guide's own SPA example once wrote "index.html"

    def rule(
        pattern: re.Pattern[str] | None = None,
        names: tuple[str, ...] = (),
        *,
        is_regex: bool = False,
        query: tuple[tuple[str, str], ...] = (),
        domain: str | None = None,
    ) -> _Rule:
        return _Rule(index, status, target, cond, pattern, is_regex, names, query, domain)

    if source.startswith("</") and source.endswith("/>") and len(source) >= 4:
        try:
            return rule(re.compile(_JS_NAMED_GROUP.sub("(?P<", source[2:-2])), is_regex=True)
        except re.error as exc:
            return f"its regular expression does not compile ({exc}); the rule is ignored"
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        if parts.path not in ("", "/") or parts.query:
            return "a domain source with a path is not supported; Amplify ignores this rule"
        return rule(domain=(parts.hostname or "").lower())
    path, _, query = source.partition("?")
    compiled = _compile_path(path)
    if isinstance(compiled, str):
        return compiled
    return rule(*compiled, query=tuple(parse_qsl(query, keep_blank_values=True)))


def _substitute(target: str, captures: Mapping[str, str], for_url: bool) -> str:
    def one(m: re.Match[str]) -> str:
        value = captures.get(m.group(1))
        if value is None:
            return m.group(0)  # not a placeholder of the source: kept as written
        return quote(value, safe=_SAFE) if for_url else value

    return _TOKEN.sub(one, target)


class RuleSet:
    """An app's customRules, parsed once. ``notes`` says which rules are ignored and why."""

    def __init__(self, rules: Sequence[Mapping[str, object]] | None) -> None:
        self.rules: list[_Rule] = []
        notes: list[str] = []
        for index, raw in enumerate(rules or ()):
            compiled = _compile(index, raw) if isinstance(raw, Mapping) else "it is not an object"
            if isinstance(compiled, str):
                source = raw.get("source") if isinstance(raw, Mapping) else None
                notes.append(f"customRules[{index}] (source {source!r}): {compiled}"[:300])
            else:
                self.rules.append(compiled)
        self.notes: tuple[str, ...] = tuple(notes)

    @staticmethod
    def _match(
        rule: _Rule, path: str, query: list[tuple[str, str]], options: Options
    ) -> dict[str, str] | None:
        """The rule's captures (placeholder name, or "*", to value) when it matches, else None."""
        if rule.domain is not None:
            return {} if (urlsplit("//" + (options.host or "")).hostname or "") == rule.domain else None
        assert rule.pattern is not None
        if rule.is_regex:
            return {} if rule.pattern.search(path) else None
        m = rule.pattern.fullmatch(path)
        if m is None:
            return None
        captures = {name: m.group(f"g{i}") for i, name in enumerate(rule.names)}
        if m.groupdict().get("star") is not None:
            captures["*"] = m.group("star")
        given = dict(query)
        for name, want in rule.query:
            if name not in given:
                return None
            token = _TOKEN.fullmatch(want)
            if token and token.group(1) != "*":
                captures[token.group(1)] = given[name]
            elif not token and given[name] != want:
                return None
        return captures

    def resolve(
        self, path_and_query: str, file_exists: Callable[[str], bool], options: Options | None = None
    ) -> Outcome:
        """What to answer for a request line's path and query (``/a/b?x=1``)."""
        options = options or Options()
        raw_path, _, query = path_and_query.partition("#")[0].partition("?")
        path = "/" + unquote(raw_path).lstrip("/")
        pairs = parse_qsl(query, keep_blank_values=True)
        notes = list(self.notes)
        seen: dict[str, bool] = {}

        def exists(key: str) -> bool:
            if key not in seen:
                seen[key] = file_exists(key)
            return seen[key]

        for rule in self.rules:
            where = f"customRules[{rule.index}]"
            if rule.domain is not None and options.host is None:
                notes.append(
                    f"{where}: its source is a domain ({rule.domain}); it applies on the custom-domain URLs "
                    "(http://<host>.localhost:PORT/), not on a branch URL"
                )
                continue
            if rule.condition is not None:
                if options.country is None:
                    notes.append(
                        f"{where}: country conditions (<{rule.condition}>) are not emulated; skipped"
                    )
                    continue
                if options.country.upper() != rule.condition:
                    continue
            captures = self._match(rule, path, pairs, options)
            if captures is None:
                continue
            if rule.status in ("404", "404-200") and _found(path, exists, options):
                continue  # a 404 rule applies only where the address doesn't exist
            if rule.status in ("301", "302"):
                location = _substitute(rule.target, captures, for_url=True)
                if rule.domain is not None:
                    location = location.rstrip("/") + quote(path, safe=_SAFE)
                if query and not rule.query and "?" not in rule.target:
                    location += "?" + query
                return Outcome(
                    "redirect", int(rule.status), location=location, rule=rule.index, notes=_n(notes)
                )
            if rule.target.startswith(("http://", "https://")):
                origin = "{0.scheme}://{0.netloc}".format(urlsplit(rule.target))
                notes.append(
                    f"{where}: rewriting to another origin ({origin}) is not emulated; answering 502"
                )
                location = _substitute(rule.target, captures, for_url=True)
                return Outcome("proxy", 502, location=location, rule=rule.index, notes=_n(notes))
            target = _substitute(rule.target, captures, for_url=False)
            key = _lookup(target.partition("?")[0], exists)
            if key is None:
                notes.append(f"{where}: its target {rule.target!r} is not in the deployment; answering 403")
                return Outcome("denied", ACCESS_DENIED_STATUS, rule=rule.index, notes=_n(notes))
            status = 404 if rule.status == "404" else 200
            return Outcome("file", status, file=key, rule=rule.index, notes=_n(notes))
        return _default(path, query, exists, _n(notes))


def _n(notes: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(notes))


def _found(path: str, exists: Callable[[str], bool], options: Options) -> bool:
    """Whether the address exists, for "404" and "404-200" rules."""
    key = path[1:]
    if key == "" or key.endswith("/"):
        return exists(key + "index.html")
    if exists(key):
        return True
    return options.clean_urls_before_404_rules and (exists(key + ".html") or exists(key + "/index.html"))


def _lookup(target: str, exists: Callable[[str], bool]) -> str | None:
    """The site key a rewrite serves: the file, ``x.html`` for ``/x``, or ``x/index.html``."""
    key = unquote(target).lstrip("/")
    if key == "" or key.endswith("/"):
        return key + "index.html" if exists(key + "index.html") else None
    for candidate in (key, key + ".html", key + "/index.html"):
        if exists(candidate):
            return candidate
    return None


def _default(path: str, query: str, exists: Callable[[str], bool], notes: tuple[str, ...]) -> Outcome:
    """No rule applied: the user guide's "Trailing slashes and clean URLs", else 403 AccessDenied."""
    key = path[1:]
    if key == "" or key.endswith("/"):
        if exists(key + "index.html"):
            return Outcome("file", 200, file=key + "index.html", notes=notes)
    elif exists(key):
        return Outcome("file", 200, file=key, notes=notes)
    elif exists(key + ".html"):
        return Outcome("file", 200, file=key + ".html", notes=notes)
    elif exists(key + "/index.html"):
        location = quote(path, safe=_SAFE) + "/" + ("?" + query if query else "")
        return Outcome("redirect", 301, location=location, notes=notes)
    return Outcome("denied", ACCESS_DENIED_STATUS, notes=notes)


def resolve(
    rules: Sequence[Mapping[str, object]] | None,
    path_and_query: str,
    file_exists: Callable[[str], bool],
    options: Options | None = None,
) -> Outcome:
    """``RuleSet(rules).resolve(path_and_query, file_exists, options)``."""
    return RuleSet(rules).resolve(path_and_query, file_exists, options)


def access_denied_body(request_id: str = "0000000000000000") -> bytes:
    """The S3-style XML body of Amplify's 403 for a path with no file and no rule."""
    rid = re.sub(r"[^A-Za-z0-9]", "", request_id)[:64]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>{rid}</RequestId>"
        "</Error>\n"
    ).encode()
