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


ORDER_SPECIFIC_FIRST = [
    rule("/docs/specific-filename.html", "301", "/documents/different-filename.html"),
    rule("/docs/<*>", "301", "/documents/<*>"),
]
ORDER_WILDCARD_FIRST = list(reversed(ORDER_SPECIFIC_FIRST))

EXAMPLES = [
    # --- "Setting up redirects and rewrites": Understanding the order of redirects (first order)
    pytest.param(
        ORDER_SPECIFIC_FIRST,
        "/docs/specific-filename.html",
        None,
        ("redirect", 301, "/documents/different-filename.html"),
        id="order-specific-first-specific",
    ),
    pytest.param(
        ORDER_SPECIFIC_FIRST,
        "/docs/guide/intro.html",
        None,
        ("redirect", 301, "/documents/guide/intro.html"),
        id="order-specific-first-other",
    ),
    # --- same section, the order that "ignores the redirection of specific-filename.html"
    pytest.param(
        ORDER_WILDCARD_FIRST,
        "/docs/specific-filename.html",
        None,
        ("redirect", 301, "/documents/specific-filename.html"),
        id="order-wildcard-first",
    ),
    # --- "Understanding how Amplify forwards query parameters": forwarded for 301 and 302
    pytest.param(
        [rule("/old", "302", "/new")],
        "/old?a=1&b=two",
        None,
        ("redirect", 302, "/new?a=1&b=two"),
        id="query-forwarded-302",
    ),
    # --- same section: not forwarded when the destination has query parameters
    pytest.param(
        [rule("/search", "301", "https://example-target.com?q=someParam")],
        "/search?q=mine",
        None,
        ("redirect", 301, "https://example-target.com?q=someParam"),
        id="query-not-forwarded-target-has-query",
    ),
    # --- Simple redirects and rewrites: a specific page, permanently
    pytest.param(
        [rule("/original.html", "301", "/destination.html")],
        "/original.html",
        None,
        ("redirect", 301, "/destination.html"),
        id="simple-301",
    ),
    # --- Simple: any path under a folder to the same path under another folder
    pytest.param(
        [rule("/docs/<*>", "301", "/documents/<*>")],
        "/docs/2024/notes.html?x=1",
        None,
        ("redirect", 301, "/documents/2024/notes.html?x=1"),
        id="folder-wildcard-301",
    ),
    # --- Simple: all traffic to index.html as a rewrite (existing files included)
    pytest.param(
        [rule("/<*>", "200", "/index.html")],
        "/any/deep/link",
        None,
        ("file", 200, "index.html"),
        id="all-to-index-200",
    ),
    pytest.param(
        [rule("/<*>", "200", "/index.html")],
        "/assets/app.js",
        None,
        ("file", 200, "index.html"),
        id="all-to-index-200-file",
    ),
    # --- Simple: a rewrite that changes the subdomain (a 200 to another origin: not emulated)
    pytest.param(
        [rule("https://mydomain.com", "200", "https://www.mydomain.com")],
        "/page",
        MYDOMAIN,
        ("proxy", 502, "https://www.mydomain.com"),
        id="subdomain-rewrite-200",
    ),
    pytest.param(
        [rule("https://mydomain.com", "200", "https://www.mydomain.com")],
        "/about",
        None,
        ("file", 200, "about.html"),
        id="subdomain-rewrite-not-on-127.0.0.1",
    ),
    # --- Simple: redirect to a different domain with a path prefix (paths are appended)
    pytest.param(
        [rule("https://mydomain.com", "302", "https://www.mydomain.com/documents/")],
        "/a/b?x=1",
        Options(host="MyDomain.com:443"),
        ("redirect", 302, "https://www.mydomain.com/documents/a/b?x=1"),
        id="domain-redirect-302-path-prefix",
    ),
    # --- Simple: paths that can't be found to a custom 404 page
    pytest.param(
        [rule("/<*>", "404", "/404.html")], "/missing/page", None, ("file", 404, "404.html"), id="custom-404"
    ),
    pytest.param(
        [rule("/<*>", "404", "/404.html")],
        "/about.html",
        None,
        ("file", 200, "about.html"),
        id="custom-404-found",
    ),
    # --- Simple, "Important": a domain source with a path is ignored without error
    pytest.param(
        [rule("https://mydomain.com/path", "301", "/elsewhere")],
        "/path",
        MYDOMAIN,
        ("denied", 403),
        id="domain-source-with-path-ignored",
    ),
    # --- Redirects for single page web apps (SPA): the regex rewrite
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/settings/profile",
        None,
        ("file", 200, "index.html"),
        id="spa-deep-link",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")], "/", None, ("file", 200, "index.html"), id="spa-root"
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/assets/app.js",
        None,
        ("file", 200, "assets/app.js"),
        id="spa-js",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/assets/style.css",
        None,
        ("file", 200, "assets/style.css"),
        id="spa-css",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/favicon.ico",
        None,
        ("file", 200, "favicon.ico"),
        id="spa-ico",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/fonts/x.woff2",
        None,
        ("file", 200, "fonts/x.woff2"),
        id="spa-woff2",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/img/hero.webp",
        None,
        ("file", 200, "img/hero.webp"),
        id="spa-webp",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")],
        "/report.pdf",
        None,
        ("file", 200, "index.html"),
        id="spa-other-ext",
    ),
    pytest.param(
        [rule(SPA_REGEX, "200", "/index.html")], "/missing.js", None, ("denied", 403), id="spa-missing-js"
    ),
    # the brief's (older page) variant, without woff2/webp: those become app routes
    pytest.param(
        [rule(SPA_REGEX_BRIEF, "200", "/index.html")],
        "/fonts/x.woff2",
        None,
        ("file", 200, "index.html"),
        id="spa-old-woff2",
    ),
    # the page once wrote the target as "index.html", without the slash
    pytest.param(
        [rule(SPA_REGEX, "200", "index.html")], "/x/y", None, ("file", 200, "index.html"), id="spa-old-target"
    ),
    # --- "Setting up redirects and rewrites", Note: "the default 404 rewrite rule" (404-200, console default)
    pytest.param(
        [rule("/<*>", "404-200", "/index.html")],
        "/settings/profile",
        None,
        ("file", 200, "index.html"),
        id="spa-404-200-route",
    ),
    pytest.param(
        [rule("/<*>", "404-200", "/index.html")],
        "/assets/app.js",
        None,
        ("file", 200, "assets/app.js"),
        id="spa-404-200-file",
    ),
    # --- Reverse proxy rewrite (not emulated: 502 and a note)
    pytest.param(
        [rule("/images/<*>", "200", "https://images.otherdomain.com/<*>")],
        "/images/cats/1 2.png",
        None,
        ("proxy", 502, "https://images.otherdomain.com/cats/1%202.png"),
        id="reverse-proxy",
    ),
    # --- Trailing slashes and clean URLs: the table's three rows, no rules
    pytest.param([], "/about", None, ("file", 200, "about.html"), id="clean-about-html"),
    pytest.param([], "/blog?page=2", None, ("redirect", 301, "/blog/?page=2"), id="clean-add-slash"),
    pytest.param([], "/blog/", None, ("file", 200, "blog/index.html"), id="clean-slash-index"),
    # --- Placeholders
    pytest.param(
        [rule("/docs/<year>/<month>/<date>/<itemid>", "301", "/documents/<year>/<month>/<date>/<itemid>")],
        "/docs/2024/05/17/abc",
        None,
        ("redirect", 301, "/documents/2024/05/17/abc"),
        id="placeholders",
    ),
    pytest.param(
        [rule("/docs/<year>/<month>/<date>/<itemid>", "301", "/documents/<year>/<month>/<date>/<itemid>")],
        "/docs/2024/05/17",
        None,
        ("denied", 403),
        id="placeholders-too-short",
    ),
    # --- Query strings and path parameters: a query value into the path, query not forwarded
    pytest.param(
        [rule("/docs?id=<my-blog-id-value>", "301", "/documents/<my-blog-id-value>")],
        "/docs?id=42&utm=x",
        None,
        ("redirect", 301, "/documents/42"),
        id="query-to-path",
    ),
    pytest.param(
        [rule("/docs?id=<my-blog-id-value>", "301", "/documents/<my-blog-id-value>")],
        "/docs",
        None,
        ("denied", 403),
        id="query-to-path-no-id",
    ),
    # --- Query strings: paths not found at a level of a folder structure, to a folder's index.html
    pytest.param(
        [rule("/documents/<x>/<y>/<z>", "404", "/documents/index.html")],
        "/documents/f/c/g",
        None,
        ("file", 404, "documents/index.html"),
        id="level-404",
    ),
    pytest.param(
        [rule("/documents/<x>/<y>/<z>", "404", "/documents/index.html")],
        "/documents/a/b/c/",
        None,
        ("file", 200, "documents/a/b/c/index.html"),
        id="level-404-found",
    ),
    # --- Region-based redirects (condition <US>): only with a country given (not emulated by default)
    pytest.param(
        [rule("/documents", "302", "/documents/us/", "<US>")],
        "/documents",
        US,
        ("redirect", 302, "/documents/us/"),
        id="region-us",
    ),
    pytest.param(
        [rule("/documents", "302", "/documents/us/", "<US>")],
        "/documents",
        Options(country="fr"),
        ("redirect", 301, "/documents/"),
        id="region-other-country",
    ),
    pytest.param(
        [rule("/documents", "302", "/documents/us/", "<US>")],
        "/documents",
        None,
        ("redirect", 301, "/documents/"),
        id="region-unknown-country",
    ),
    # --- Using wildcard expressions: valid (at the end, once)
    pytest.param(
        [rule("/docs/<*>", "301", "/documents/<*>")],
        "/docs/",
        None,
        ("redirect", 301, "/documents/"),
        id="wildcard-valid-empty",
    ),
    # --- Using wildcard expressions: the two invalid sources are ignored
    pytest.param(
        [rule("/docs/<*>/content", "301", "/documents/<*>/content")],
        "/docs/x/content",
        None,
        ("denied", 403),
        id="wildcard-invalid-middle",
    ),
    pytest.param(
        [rule("/docs/<*>/content/<*>", "301", "/documents/<*>/content/<*>")],
        "/docs/x/content/y",
        None,
        ("denied", 403),
        id="wildcard-invalid-twice",
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
