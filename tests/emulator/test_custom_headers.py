"""customHeaders against the examples of the Amplify Hosting user guide's "Setting custom headers" pages
(Custom header YAML reference, Setting custom headers), then the assumptions of docs/hosting-rules.md.
Pure: no servers."""

from __future__ import annotations

import pytest

from amplify_sandbox.emulator.custom_headers import (
    CustomHeadersError,
    _Parser,
    glob_regex,
    headers_for,
    parse_custom_headers,
)

# "Custom header YAML reference": the format
REFERENCE = """\
customHeaders:
  - pattern: '*.json'
    headers:
    - key: 'custom-header-name-1'
      value: 'custom-header-value-1'
    - key: 'custom-header-name-2'
      value: 'custom-header-value-2'
  - pattern: '/path/*'
    headers:
    - key: 'custom-header-name-1'
      value: 'custom-header-value-2'
"""
# "Custom header YAML reference": the monorepo format
MONOREPO = """\
applications:
  - appRoot: app1
    customHeaders:
    - pattern: '**/*'
      headers:
      - key: 'custom-header-name-1'
        value: 'custom-header-value-1'
  - appRoot: app2
    customHeaders:
    - pattern: '/path/*.json'
      headers:
      - key: 'custom-header-name-2'
        value: 'custom-header-value-2'
"""
# "Setting custom headers": Security custom headers example
SECURITY = """\
customHeaders:
  - pattern: '**'
    headers:
      - key: 'Strict-Transport-Security'
        value: 'max-age=31536000; includeSubDomains'
      - key: 'X-Frame-Options'
        value: 'SAMEORIGIN'
      - key: 'X-XSS-Protection'
        value: '1; mode=block'
      - key: 'X-Content-Type-Options'
        value: 'nosniff'
      - key: 'Content-Security-Policy'
        value: "default-src 'self'"
"""
# "Setting custom headers": Setting Cache-Control custom headers
CACHE = """\
customHeaders:
  - pattern: '/img/*'
    headers:
      - key: 'Cache-Control'
        value: 's-maxage=3600'
"""
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Frame-Options": "SAMEORIGIN",
    "X-XSS-Protection": "1; mode=block",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'",
}
H1 = {"custom-header-name-1": "custom-header-value-1", "custom-header-name-2": "custom-header-value-2"}


@pytest.mark.parametrize(
    ("yaml_text", "app_root", "path", "status", "expected"),
    [
        # YAML reference: '*.json' (every .json, in any folder) and '/path/*' (directly under /path)
        pytest.param(REFERENCE, None, "/data.json", 200, H1, id="reference-json-root"),
        pytest.param(REFERENCE, None, "/api/v1/data.json", 200, H1, id="reference-json-nested"),
        pytest.param(
            REFERENCE,
            None,
            "/path/page.html",
            200,
            {"custom-header-name-1": "custom-header-value-2"},
            id="reference-path",
        ),
        pytest.param(
            REFERENCE,
            None,
            "/path/x.json",
            200,
            {
                "custom-header-name-1": "custom-header-value-2",
                "custom-header-name-2": "custom-header-value-2",
            },
            id="reference-both-last-wins",
        ),
        pytest.param(REFERENCE, None, "/path/a/b.html", 200, {}, id="reference-path-not-deeper"),
        pytest.param(REFERENCE, None, "/index.html", 200, {}, id="reference-neither"),
        # YAML reference, monorepo: app1 '**/*' (everything), app2 '/path/*.json'
        pytest.param(
            MONOREPO, "app1", "/", 200, {"custom-header-name-1": "custom-header-value-1"}, id="mono-app1-root"
        ),
        pytest.param(
            MONOREPO,
            "app1",
            "/a/b/c.css",
            200,
            {"custom-header-name-1": "custom-header-value-1"},
            id="mono-app1-deep",
        ),
        pytest.param(
            MONOREPO,
            "app2",
            "/path/x.json",
            200,
            {"custom-header-name-2": "custom-header-value-2"},
            id="mono-app2",
        ),
        pytest.param(MONOREPO, "app2", "/path/x.html", 200, {}, id="mono-app2-other"),
        pytest.param(MONOREPO, "app2", "/other/path/x.json", 200, {}, id="mono-app2-anchored"),
        # Setting custom headers: the security headers on every path, error pages too
        pytest.param(SECURITY, None, "/", 200, SECURITY_HEADERS, id="security-root"),
        pytest.param(SECURITY, None, "/settings/profile", 200, SECURITY_HEADERS, id="security-route"),
        pytest.param(SECURITY, None, "/missing", 403, SECURITY_HEADERS, id="security-error"),
        # Setting Cache-Control custom headers: '/img/*', and "only for 200 OK"
        pytest.param(CACHE, None, "/img/hero.png", 200, {"Cache-Control": "s-maxage=3600"}, id="cache-img"),
        pytest.param(CACHE, None, "/img/hero.png", 404, {}, id="cache-only-200"),
        pytest.param(CACHE, None, "/css/site.css", 200, {}, id="cache-other"),
    ],
)
def test_user_guide_examples(
    yaml_text: str, app_root: str | None, path: str, status: int, expected: dict[str, str]
) -> None:
    assert headers_for(parse_custom_headers(yaml_text, app_root), path, status) == expected


@pytest.mark.parametrize("text", [REFERENCE, MONOREPO, SECURITY, CACHE])
def test_the_small_parser_reads_the_examples_as_pyyaml_does(text: str) -> None:
    yaml = pytest.importorskip("yaml")  # a transitive dependency here, not pinned: skip without it
    assert _Parser(text).parse() == yaml.safe_load(text)


TRICKY = """\
# a comment
---
customHeaders:   # trailing comment
- pattern: "**/*.woff2"
  headers:
  - key: Cache-Control
    value: "public, max-age=31536000, immutable"
  - key: "X-Quote"
    value: 'it''s "fine" # not a comment'
  -
    key: X-Plain
    value: a b #comment
"""


def test_the_parser_handles_comments_quotes_and_item_layouts() -> None:
    yaml = pytest.importorskip("yaml")
    assert _Parser(TRICKY).parse() == yaml.safe_load(TRICKY)
    rules = parse_custom_headers(TRICKY)
    assert headers_for(rules, "/fonts/a.woff2") == {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Quote": 'it\'s "fine" # not a comment',
        "X-Plain": "a b",
    }


def test_the_constructs_own_yaml_parses() -> None:
    # AmplifyStaticSite(custom_headers=...) writes JSON-quoted values
    static_site = pytest.importorskip("amplify_deployment.static_site")
    text = static_site._custom_headers_yaml(
        {"**/*": {"X-Frame-Options": "DENY"}, "*.js": {"Cache-Control": 'max-age=60, "x"\u00e9'}}
    )
    rules = parse_custom_headers(text)
    assert headers_for(rules, "/a/app.js") == {
        "X-Frame-Options": "DENY",
        "Cache-Control": 'max-age=60, "x"\u00e9',
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("customHeaders:\n\t- pattern: '*'\n", "tabs"),
        ("customHeaders:\n  - pattern: *.js\n    headers: []\n", "quote the value"),
        ("customHeaders: [{pattern: '*'}]\n", "quote the value"),
        ("customHeaders:\n  - pattern: '*.js\n    headers: x\n", "unterminated"),
        ("customHeaders:\n  - pattern: '*.js'\n", "non-empty 'headers'"),
        ("customHeaders:\n  - headers:\n    - key: a\n      value: b\n", "non-empty 'pattern'"),
        (
            "customHeaders:\n  - pattern: '*'\n    headers:\n    - key: 'bad name'\n      value: v\n",
            "not a valid",
        ),
        (
            "customHeaders:\n  - pattern: '*'\n    headers:\n    - key: X\n      value: \"a\\r\\nB: c\"\n",
            "not a valid",
        ),
        ("customHeaders:\n  - pattern: '*'\n    headers:\n    - key: X\n", "'key' and 'value'"),
        ("customHeaders:\n  - pattern: '*'\n    pattern: '**'\n", "duplicate key"),
        ("customHeaders:\n  - pattern: '*'\n     headers: x\n", "indentation"),
        ("customHeaders: x\n", "must be a list"),
        ("- a\n- b\n", "must be a mapping"),
        (MONOREPO, "give one app_root"),
    ],
)
def test_malformed_yaml_is_refused_with_the_line_or_entry(text: str, message: str) -> None:
    with pytest.raises(CustomHeadersError, match=message):
        parse_custom_headers(text)


def test_empty_documents_have_no_rules() -> None:
    for text in (None, "", "  \n# only a comment\n", "customHeaders:\n", "customHeaders: []\n"):
        assert parse_custom_headers(text) == []


def test_a_monorepo_with_one_application_needs_no_app_root() -> None:
    one = MONOREPO.split("  - appRoot: app2")[0]
    assert headers_for(parse_custom_headers(one), "/x") == {"custom-header-name-1": "custom-header-value-1"}


def test_precedence_between_entries_is_a_knob() -> None:
    # amplify-hosting issue 198 (later entries override) against issue 2899 (the first one stayed)
    rules = parse_custom_headers(
        "customHeaders:\n"
        "  - pattern: '**/*'\n    headers:\n      - key: 'Cache-Control'\n"
        "        value: 'public, max-age=300'\n"
        "  - pattern: '*.css'\n    headers:\n      - key: 'cache-control'\n        value: 'immutable'\n"
    )
    assert headers_for(rules, "/a/site.css") == {"cache-control": "immutable"}
    assert headers_for(rules, "/a/site.css", precedence="first") == {"Cache-Control": "public, max-age=300"}
    assert headers_for(rules, "/a/site.js") == {"Cache-Control": "public, max-age=300"}


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*", "/", True),
        ("**/*", "/a/b/c.js", True),
        ("**/*.woff2", "/a.woff2", True),  # amplify-hosting issue 2281's pattern: also at the root
        ("**/*.woff2", "/fonts/a/b.woff2", True),
        ("**/*.woff2", "/fonts/a.woff", False),
        ("static/js/*.js", "/static/js/main.1a2b.js", True),  # issue 1886's pattern, no leading '/'
        ("static/js/*.js", "/static/js/chunks/x.js", False),
        ("/path/*", "/path/", True),
        ("/foo/*.html", "/foo/foo.123456.html", True),  # issue 2525's pattern
        ("**/*.{woff,ttf}", "/a.woff", False),  # issue 3937: braces are not supported by Amplify
        ("*.JSON", "/a.json", False),  # case-sensitive, like the S3 keys behind the site
        ("favicon.ico", "/deep/favicon.ico", True),
        ("/img/?.png", "/img/a.png", True),
        ("/img/?.png", "/img/ab.png", False),
    ],
)
def test_glob_patterns(pattern: str, path: str, matches: bool) -> None:
    rules = parse_custom_headers(
        f"customHeaders:\n  - pattern: '{pattern}'\n    headers:\n    - key: X\n      value: v\n"
    )
    assert rules[0].matches(path) is matches
    assert glob_regex(pattern).pattern  # compiles
