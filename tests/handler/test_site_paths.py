"""Pure: Exclude/Include filter semantics (those of `aws s3 sync`, as BucketDeployment uses them) and
the destination key prefix rules."""

from __future__ import annotations

import pytest

from amplify_deployment_handler.site_paths import (
    KEY_PREFIX_MAX,
    SiteFilter,
    key_prefix_problem,
    normalize_key_prefix,
    ordered_filters,
    pattern_problem,
)

SITE = [
    "index.html",
    "about/index.html",
    "js/app.js",
    "js/app.js.map",
    "js/vendor/lib.js",
    "js/vendor/lib.js.map",
    "drafts/post.html",
    "drafts/keep/ok.html",
    ".DS_Store",
    "img/.DS_Store",
    "Readme.MD",
]


def kept(exclude=(), include=()):
    return SiteFilter(exclude, include).select(SITE)


def test_no_filter_keeps_everything():
    assert not SiteFilter().active
    assert kept() == SITE


def test_star_matches_across_slashes():
    # aws s3 sync matches with fnmatch on the whole path: '*' also matches '/'.
    assert kept(exclude=["*.map"]) == [p for p in SITE if not p.endswith(".map")]
    assert kept(exclude=["*.DS_Store"]) == [p for p in SITE if not p.endswith(".DS_Store")]
    assert kept(exclude=["js/*"]) == [p for p in SITE if not p.startswith("js/")]


def test_a_pattern_matches_the_whole_path_from_the_site_root():
    # '.DS_Store' alone is the root file only; 'app.js' matches nothing (the file is js/app.js).
    assert kept(exclude=[".DS_Store"]) == [p for p in SITE if p != ".DS_Store"]
    assert kept(exclude=["app.js"]) == SITE
    assert kept(exclude=["index.html"]) == [p for p in SITE if p != "index.html"]


def test_question_mark_and_sets():
    assert kept(exclude=["js/app.j?"]) == [p for p in SITE if p != "js/app.js"]
    assert kept(exclude=["[ai]*"]) == [p for p in SITE if not p.startswith(("a", "i"))]
    assert kept(exclude=["[!.]*"]) == [".DS_Store"]


def test_matching_is_case_sensitive():
    assert kept(exclude=["*.md"]) == SITE
    assert kept(exclude=["*.MD"]) == [p for p in SITE if p != "Readme.MD"]


def test_include_is_evaluated_after_every_exclude_and_wins():
    # BucketDeployment puts every --exclude before every --include on the command line.
    assert ordered_filters(["a", "b"], ["c"]) == (("exclude", "a"), ("exclude", "b"), ("include", "c"))
    assert kept(exclude=["*"], include=["*.html"]) == [p for p in SITE if p.endswith(".html")]
    assert kept(exclude=["drafts/*"], include=["drafts/keep/*"]) == [
        p for p in SITE if not p.startswith("drafts/") or p.startswith("drafts/keep/")
    ]
    # Includes are evaluated last whatever the order of the lists: the include still wins.
    assert kept(exclude=["*.html"], include=["*"]) == SITE


def test_the_last_matching_filter_decides():
    f = SiteFilter(exclude=["*.map", "js/*"], include=["js/vendor/*", "*.map"])
    assert f.includes("index.html")  # nothing matches: included by default
    assert f.includes("js/app.js.map")  # exclude *.map, exclude js/*, include *.map (last)
    assert not f.includes("js/app.js")  # exclude js/* is the last match
    assert f.includes("js/vendor/lib.js")  # include js/vendor/* comes after exclude js/*


def test_an_include_alone_removes_nothing():
    # Every file is included to begin with: an include without an exclude changes nothing.
    assert kept(include=["*.html"]) == SITE


@pytest.mark.parametrize(
    "pattern,fragment",
    [
        ("", "must not be empty"),
        ("/index.html", "starts with '/'"),
        ("js\\*.map", "backslash"),
        (3, "must be a string"),
    ],
)
def test_unusable_patterns(pattern, fragment):
    assert fragment in (pattern_problem(pattern) or "")


def test_usable_patterns():
    for pattern in ("*", "*.map", "docs/**", ".DS_Store", "a b/[!x]?.txt"):
        assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    "prefix,expected",
    [("", ""), ("docs", "docs/"), ("docs/", "docs/"), ("a/b/c", "a/b/c/"), ("v1.2/x-y_z", "v1.2/x-y_z/")],
)
def test_prefix_is_normalised_with_one_trailing_slash(prefix, expected):
    assert key_prefix_problem(prefix) is None
    assert normalize_key_prefix(prefix) == expected


@pytest.mark.parametrize(
    "prefix,fragment",
    [
        ("/docs", "must be relative"),
        ("/", "must be relative"),
        ("C:/docs", "must be relative"),
        ("docs//", "empty, '.' or '..'"),
        ("a//b", "empty, '.' or '..'"),
        ("../up", "empty, '.' or '..'"),
        ("a/../b", "empty, '.' or '..'"),
        ("./a", "empty, '.' or '..'"),
        ("a\\b", "backslash"),
        ("d" * KEY_PREFIX_MAX, f"longer than {KEY_PREFIX_MAX}"),
    ],
)
def test_bad_prefixes(prefix, fragment):
    assert fragment in (key_prefix_problem(prefix) or "")


def test_longest_prefix_leaves_room_for_one_character():
    prefix = "d" * (KEY_PREFIX_MAX - 1)
    assert key_prefix_problem(prefix) is None
    assert len(normalize_key_prefix(prefix)) == KEY_PREFIX_MAX == 254
