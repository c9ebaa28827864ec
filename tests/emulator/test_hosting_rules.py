"""The rule engine against every example of the Amplify Hosting user guide's pages "Setting up redirects
and rewrites" and "Redirects and rewrites example reference", then the assumptions of
docs/hosting-rules.md. Pure: no servers."""

from __future__ import annotations

import pytest

from amplify_sandbox.emulator.hosting_rules import (
    Options,
    Outcome,
    RuleSet,
    access_denied_body,
    resolve,
)

# A deployed site: the keys the emulator stores (no leading '/').
SITE = frozenset(
    {
        "index.html",
        "404.html",
        "destination.html",
        "original.html",
        "about.html",
        "blog/index.html",
        "documents/index.html",
        "documents/us/index.html",
        "documents/a/b/c/index.html",
        "assets/app.js",
        "assets/style.css",
        "favicon.ico",
        "fonts/x.woff2",
        "img/hero.webp",
        "report.pdf",
    }
)
SPA_REGEX = (  # the example page's current SPA source
    r"</^[^.]+$|\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|woff2|ttf|map|json|webp)$)([^.]+$)/>"
)
SPA_REGEX_BRIEF = r"</^[^.]+$|\.(?!(css|gif|ico|jpg|js|png|txt|svg|woff|ttf|map|json)$)([^.]+$)/>"
US = Options(country="US")
MYDOMAIN = Options(host="mydomain.com")


def rule(source: str, status: str, target: str, condition: str | None = None) -> dict[str, object]:
    return {"source": source, "status": status, "target": target, "condition": condition}


def short(outcome: Outcome) -> tuple[object, ...]:
    if outcome.kind == "file":
        return ("file", outcome.status, outcome.file)
    if outcome.kind in ("redirect", "proxy"):
        return (outcome.kind, outcome.status, outcome.location)
    return (outcome.kind, outcome.status)


def ex(
    name: str,
    rules: list[dict[str, object]],
    request: str,
    expected: tuple[object, ...],
    options: Options | None = None,
) -> object:
    return pytest.param(rules, request, options, expected, id=name)


ORDER = [
    rule("/docs/specific-filename.html", "301", "/documents/different-filename.html"),
    rule("/docs/<*>", "301", "/documents/<*>"),
]
DOCS = [rule("/docs/<*>", "301", "/documents/<*>")]
ALL = [rule("/<*>", "200", "/index.html")]
SUBDOMAIN = [rule("https://mydomain.com", "200", "https://www.mydomain.com")]
PREFIX = [rule("https://mydomain.com", "302", "https://www.mydomain.com/documents/")]
NOT_FOUND = [rule("/<*>", "404", "/404.html")]
SPA = [rule(SPA_REGEX, "200", "/index.html")]
SPA_404_200 = [rule("/<*>", "404-200", "/index.html")]
PROXY = [rule("/images/<*>", "200", "https://images.otherdomain.com/<*>")]
DATES = [rule("/docs/<year>/<month>/<date>/<itemid>", "301", "/documents/<year>/<month>/<date>/<itemid>")]
QUERY = [rule("/docs?id=<my-blog-id-value>", "301", "/documents/<my-blog-id-value>")]
LEVEL = [rule("/documents/<x>/<y>/<z>", "404", "/documents/index.html")]
REGION = [rule("/documents", "302", "/documents/us/", "<US>")]
SLASH_301 = ("redirect", 301, "/documents/")
INDEX = ("file", 200, "index.html")
DENIED = ("denied", 403)

EXAMPLES = [
    # "Setting up redirects and rewrites" > Understanding the order of redirects: specific rule first...
    ex(
        "order-1-specific",
        ORDER,
        "/docs/specific-filename.html",
        ("redirect", 301, "/documents/different-filename.html"),
    ),
    ex("order-1-other", ORDER, "/docs/guide/a.html", ("redirect", 301, "/documents/guide/a.html")),
    # ... and the order that "ignores the redirection of specific-filename.html"
    ex(
        "order-2",
        ORDER[::-1],
        "/docs/specific-filename.html",
        ("redirect", 301, "/documents/specific-filename.html"),
    ),
    # Same page > Understanding how Amplify forwards query parameters: forwarded for 301 and 302...
    ex("query-forwarded", [rule("/old", "302", "/new")], "/old?a=1&b=2", ("redirect", 302, "/new?a=1&b=2")),
    # ... but not when the destination has query parameters (the page's example-target.com)
    ex(
        "query-target-has-query",
        [rule("/s", "301", "https://example-target.com?q=someParam")],
        "/s?q=mine",
        ("redirect", 301, "https://example-target.com?q=someParam"),
    ),
    # "Redirects and rewrites example reference" > Simple: one page, permanently
    ex(
        "simple-301",
        [rule("/original.html", "301", "/destination.html")],
        "/original.html",
        ("redirect", 301, "/destination.html"),
    ),
    # Simple: any path under a folder to the same path under another folder
    ex("folder-301", DOCS, "/docs/2024/notes.html?x=1", ("redirect", 301, "/documents/2024/notes.html?x=1")),
    # Simple: all traffic to index.html as a rewrite (existing files too)
    ex("all-200-route", ALL, "/any/deep/link", INDEX),
    ex("all-200-file", ALL, "/assets/app.js", INDEX),
    # Simple: a rewrite changing the subdomain (a 200 to another origin: not emulated, 502)...
    ex("subdomain-200", SUBDOMAIN, "/page", ("proxy", 502, "https://www.mydomain.com"), MYDOMAIN),
    # ... and on 127.0.0.1 (no host given) a domain source never matches
    ex("subdomain-200-local", SUBDOMAIN, "/about", ("file", 200, "about.html")),
    # Simple: to a different domain with a path prefix (the request path is appended)
    ex(
        "domain-302-prefix",
        PREFIX,
        "/a/b?x=1",
        ("redirect", 302, "https://www.mydomain.com/documents/a/b?x=1"),
        Options(host="MyDomain.com:443"),
    ),
    # Simple: paths that can't be found to a custom 404 page
    ex("custom-404", NOT_FOUND, "/missing/page", ("file", 404, "404.html")),
    ex("custom-404-found", NOT_FOUND, "/about.html", ("file", 200, "about.html")),
    # Simple > Important: a domain source with a path is ignored without error
    ex("domain-path-ignored", [rule("https://mydomain.com/path", "301", "/x")], "/path", DENIED, MYDOMAIN),
    # Redirects for single page web apps (SPA): the regex rewrite
    ex("spa-route", SPA, "/settings/profile", INDEX),
    ex("spa-root", SPA, "/", INDEX),
    ex("spa-js", SPA, "/assets/app.js", ("file", 200, "assets/app.js")),
    ex("spa-css", SPA, "/assets/style.css", ("file", 200, "assets/style.css")),
    ex("spa-ico", SPA, "/favicon.ico", ("file", 200, "favicon.ico")),
    ex("spa-woff2", SPA, "/fonts/x.woff2", ("file", 200, "fonts/x.woff2")),
    ex("spa-webp", SPA, "/img/hero.webp", ("file", 200, "img/hero.webp")),
    ex("spa-other-extension", SPA, "/report.pdf", INDEX),
    ex("spa-missing-js", SPA, "/missing.js", DENIED),
    # the older page's regex (no woff2, webp): those are app routes there
    ex("spa-old-regex", [rule(SPA_REGEX_BRIEF, "200", "/index.html")], "/fonts/x.woff2", INDEX),
    # the older page wrote the target "index.html", without the slash
    ex("spa-old-target", [rule(SPA_REGEX, "200", "index.html")], "/x/y", INDEX),
    # "Setting up redirects and rewrites" > Note: "the default 404 rewrite rule" (404-200)
    ex("spa-404-200-route", SPA_404_200, "/settings/profile", INDEX),
    ex("spa-404-200-file", SPA_404_200, "/assets/app.js", ("file", 200, "assets/app.js")),
    # Reverse proxy rewrite (not emulated: 502 and a note)
    ex(
        "reverse-proxy",
        PROXY,
        "/images/cats/1 2.png",
        ("proxy", 502, "https://images.otherdomain.com/cats/1%202.png"),
    ),
    # Trailing slashes and clean URLs: the table's three rows, no rules
    ex("clean-about", [], "/about", ("file", 200, "about.html")),
    ex("clean-add-slash", [], "/blog?page=2", ("redirect", 301, "/blog/?page=2")),
    ex("clean-slash", [], "/blog/", ("file", 200, "blog/index.html")),
    # Placeholders
    ex("placeholders", DATES, "/docs/2024/05/17/abc", ("redirect", 301, "/documents/2024/05/17/abc")),
    ex("placeholders-short", DATES, "/docs/2024/05/17", DENIED),
    # Query strings and path parameters: a query value into the path; the query is not forwarded
    ex("query-to-path", QUERY, "/docs?id=42&utm=x", ("redirect", 301, "/documents/42")),
    ex("query-to-path-no-id", QUERY, "/docs", DENIED),
    # Query strings and path parameters: not found at a level of a folder structure
    ex("level-404", LEVEL, "/documents/f/c/g", ("file", 404, "documents/index.html")),
    ex("level-404-found", LEVEL, "/documents/a/b/c/", ("file", 200, "documents/a/b/c/index.html")),
    # Region-based redirects: applies with that country; otherwise (or unknown) the rule is skipped
    ex("region-us", REGION, "/documents", ("redirect", 302, "/documents/us/"), US),
    ex("region-other", REGION, "/documents", SLASH_301, Options(country="fr")),
    ex("region-unknown", REGION, "/documents", SLASH_301),
    # Using wildcard expressions: valid at the end, once...
    ex("wildcard-valid", DOCS, "/docs/", SLASH_301),
    # ... and the page's two invalid sources, ignored
    ex(
        "wildcard-middle",
        [rule("/docs/<*>/content", "301", "/documents/<*>/content")],
        "/docs/x/content",
        DENIED,
    ),
    ex(
        "wildcard-twice",
        [rule("/docs/<*>/content/<*>", "301", "/documents/<*>/content/<*>")],
        "/docs/x/content/y",
        DENIED,
    ),
]


@pytest.mark.parametrize(("rules", "request_line", "options", "expected"), EXAMPLES)
def test_user_guide_examples(
    rules: list[dict[str, object]], request_line: str, options: Options | None, expected: tuple[object, ...]
) -> None:
    assert short(resolve(rules, request_line, SITE.__contains__, options)) == expected


def test_not_emulated_things_are_notes_that_stay_the_same_across_requests() -> None:
    rules = RuleSet(
        [
            rule("/documents", "302", "/documents/us/", "<US>"),
            rule("/images/<*>", "200", "https://images.otherdomain.com/<*>"),
            rule("/docs/<*>/content", "301", "/x"),
        ]
    )
    first = rules.resolve("/images/a.png", SITE.__contains__)
    second = rules.resolve("/images/b.png", SITE.__contains__)
    assert first.notes == second.notes and len(first.notes) == 3
    assert "country conditions" in " ".join(first.notes)
    assert "https://images.otherdomain.com" in " ".join(first.notes)
    assert "customRules[2]" in rules.notes[0] and "<*>" in rules.notes[0]
    assert resolve([], "/index.html", SITE.__contains__).notes == ()


def test_no_file_and_no_rule_is_403_access_denied() -> None:
    outcome = resolve([], "/nope.html", SITE.__contains__)
    assert (outcome.kind, outcome.status, outcome.rule) == ("denied", 403, None)
    body = access_denied_body("ABC-123<x>")
    assert b"<Code>AccessDenied</Code>" in body and b"<RequestId>ABC123x</RequestId>" in body
    assert short(resolve([], "/", lambda key: False)) == ("denied", 403)


def test_first_match_wins_and_outcome_names_the_rule() -> None:
    rules = [rule("/a", "302", "/b"), rule("/a", "301", "/c"), rule("/<*>", "200", "/index.html")]
    assert resolve(rules, "/a", SITE.__contains__).rule == 0
    assert resolve(rules, "/z", SITE.__contains__).rule == 2


def test_404_rules_that_do_not_fire_let_later_rules_match() -> None:
    rules = [rule("/<*>", "404", "/404.html"), rule("/original.html", "301", "/destination.html")]
    assert short(resolve(rules, "/original.html", SITE.__contains__)) == (
        "redirect",
        301,
        "/destination.html",
    )


def test_404_rules_and_clean_urls_knob() -> None:
    # amplify-hosting issue 251: with a 404 rewrite, /blog no longer gets its trailing slash
    rules = [rule("/<*>", "404-200", "/index.html")]
    assert short(resolve(rules, "/blog", SITE.__contains__)) == ("file", 200, "index.html")
    knob = Options(clean_urls_before_404_rules=True)
    assert short(resolve(rules, "/blog", SITE.__contains__, knob)) == ("redirect", 301, "/blog/")
    assert short(resolve(rules, "/about", SITE.__contains__, knob)) == ("file", 200, "about.html")


def test_rewrite_targets_use_clean_urls_and_missing_targets_are_denied() -> None:
    assert short(resolve([rule("/x", "200", "/blog")], "/x", SITE.__contains__)) == (
        "file",
        200,
        "blog/index.html",
    )
    assert short(resolve([rule("/x", "200", "/about")], "/x", SITE.__contains__)) == (
        "file",
        200,
        "about.html",
    )
    outcome = resolve([rule("/x", "200", "/gone.html")], "/x", SITE.__contains__)
    assert (outcome.kind, outcome.status, outcome.rule) == ("denied", 403, 0)
    assert "not in the deployment" in outcome.notes[0]


def test_paths_are_percent_decoded_and_redirect_values_re_encoded() -> None:
    files = SITE | {"odd name.txt"}
    assert short(resolve([], "/odd%20name.txt", files.__contains__)) == ("file", 200, "odd name.txt")
    out = resolve([rule("/docs/<*>", "301", "/documents/<*>")], "/docs/a%20b/%C3%A9", files.__contains__)
    assert out.location == "/documents/a%20b/%C3%A9"
    assert short(resolve([rule("/odd <*>", "200", "/odd <*>")], "/odd%20name.txt", files.__contains__)) == (
        "file",
        200,
        "odd name.txt",
    )


def test_matching_is_exact_about_case_and_trailing_slashes() -> None:
    rules = [rule("/Original.html", "301", "/destination.html"), rule("/page", "301", "/destination.html")]
    assert resolve(rules, "/original.html", SITE.__contains__).rule is None
    assert resolve(rules, "/page/", SITE.__contains__).kind == "denied"
    assert resolve(rules, "/page", SITE.__contains__).kind == "redirect"


def test_sources_are_not_trimmed() -> None:
    # amplify-hosting issue 2129: a space after the SPA source makes the rule fail
    outcome = resolve([rule(SPA_REGEX + " ", "200", "/index.html")], "/settings", SITE.__contains__)
    assert outcome.kind == "denied"


@pytest.mark.parametrize(
    "bad",
    [
        {"source": "/a", "target": "/b"},
        {"source": "/a", "target": "/b", "status": "303"},
        {"source": "", "target": "/b", "status": "301"},
        {"source": "</(unclosed/>", "target": "/b", "status": "200"},
        "not a rule",
    ],
)
def test_malformed_rules_are_ignored_with_a_note(bad: object) -> None:
    rules = RuleSet([bad, rule("/a", "302", "/c")])  # type: ignore[list-item]
    assert len(rules.notes) == 1 and rules.notes[0].startswith("customRules[0]")
    assert short(rules.resolve("/a", SITE.__contains__)) == ("redirect", 302, "/c")


def test_regex_sources_accept_javascript_named_groups_and_search_the_path() -> None:
    rules = [rule(r"</^/(?<section>shop|store)/[^.]*$/>", "200", "/index.html")]
    assert short(resolve(rules, "/shop/cart", SITE.__contains__)) == ("file", 200, "index.html")
    assert resolve(rules, "/blog/", SITE.__contains__).rule is None


def test_unknown_placeholders_in_the_target_stay_as_written_and_fragments_are_dropped() -> None:
    out = resolve([rule("/p/<id>", "302", "/q/<id>/<other>")], "/p/7#top", SITE.__contains__)
    assert out.location == "/q/7/<other>"
    assert resolve(None, "/about#x", SITE.__contains__).file == "about.html"


def test_domain_rules_need_the_matching_host() -> None:
    rules = [rule("https://mydomain.com", "301", "https://www.mydomain.com")]
    assert resolve(rules, "/", SITE.__contains__, Options(host="other.com")).kind == "file"
    out = resolve(rules, "/", SITE.__contains__, MYDOMAIN)
    assert (out.status, out.location) == (301, "https://www.mydomain.com/")
