"""Pure: ResourceProperties parsing and validation (every scalar arrives as a string)."""

from __future__ import annotations

import pytest

from amplify_deployment_handler.props import (
    FILES,
    ZIP,
    PropsError,
    branch_url,
    json_escape,
    parse_bool,
    parse_props,
)


def props(**over):
    base = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "AppId": "d1a2b3c4",
        "BranchName": "main",
        "UploadMode": "ZIP",
        "Sources": [{"BucketName": "b", "ObjectKey": "k.zip"}],
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_minimal_props_parse():
    p = parse_props(props())
    assert (p.app_id, p.branch_name, p.upload_mode) == ("d1a2b3c4", "main", ZIP)
    assert p.sources[0].bucket == "b" and p.sources[0].key == "k.zip" and not p.sources[0].has_markers
    assert p.physical_id == "d1a2b3c4/main"


def test_upload_mode_defaults_to_zip_and_accepts_files_in_any_case():
    assert parse_props(props(UploadMode=None)).upload_mode == ZIP
    assert parse_props(props(UploadMode="files")).upload_mode == FILES


def test_branch_url_replaces_slashes():
    assert branch_url("d123", "feature/a/b") == "https://feature-a-b.d123.amplifyapp.com"
    assert (
        parse_props(props(BranchName="release/1")).branch_url == "https://release-1.d1a2b3c4.amplifyapp.com"
    )


def test_markers_plain_and_json_escaped():
    value = 'say "hi"\n\\ é'
    plain = parse_props(props(Sources=[{"BucketName": "b", "ObjectKey": "k", "Markers": {"<<m:0>>": value}}]))
    assert plain.sources[0].markers == ((b"<<m:0>>", value.encode()),)
    escaped = parse_props(
        props(
            Sources=[
                {
                    "BucketName": "b",
                    "ObjectKey": "k",
                    "Markers": {"<<m:0>>": value},
                    "MarkersConfig": {"JsonEscape": "true"},
                }
            ]
        )
    )
    assert escaped.sources[0].markers == ((b"<<m:0>>", b'say \\"hi\\"\\n\\\\ \\u00e9'),)


def test_json_escape_matches_s3_deployment():
    assert json_escape('a"b') == 'a\\"b'
    assert json_escape("line\nnext") == "line\\nnext"


@pytest.mark.parametrize("raw,expected", [("true", True), ("FALSE", False), (" True ", True), (True, True)])
def test_parse_bool(raw, expected):
    assert parse_bool(raw, "x") is expected


@pytest.mark.parametrize(
    "over,fragment",
    [
        ({"AppId": None}, "AppId is required"),
        ({"AppId": "myapp"}, "not an Amplify app id"),
        ({"AppId": "d" + "a" * 20}, "not an Amplify app id"),
        ({"AppId": 12}, "AppId must be a string"),
        ({"BranchName": ""}, "BranchName must not be empty"),
        ({"BranchName": "b" * 256}, "longer than 255"),
        ({"UploadMode": "TAR"}, "UploadMode must be ZIP, FILES or PULL"),
        ({"Sources": []}, "Sources must be a non-empty list"),
        ({"Sources": "s3://b/k"}, "Sources must be a non-empty list"),
        ({"Sources": ["b/k"]}, "Sources[0] must be an object"),
        ({"Sources": [{"BucketName": "b"}]}, "Sources[0].ObjectKey is required"),
        (
            {"Sources": [{"BucketName": "b", "ObjectKey": "k"}, {"BucketName": "", "ObjectKey": "k"}]},
            "Sources[1].BucketName must not be empty",
        ),
        ({"Sources": [{"BucketName": "b", "ObjectKey": "k", "Markers": ["x"]}]}, "Markers must be an object"),
        ({"Sources": [{"BucketName": "b", "ObjectKey": "k", "Markers": {"": "v"}}]}, "empty or non-string"),
        (
            {
                "Sources": [
                    {
                        "BucketName": "b",
                        "ObjectKey": "k",
                        "Markers": {"m": "v"},
                        "MarkersConfig": {"JsonEscape": "yes"},
                    }
                ]
            },
            "JsonEscape must be",
        ),
    ],
)
def test_malformed_props_give_one_line_reasons(over, fragment):
    with pytest.raises(PropsError) as err:
        parse_props(props(**over))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value) and len(str(err.value)) < 200


def test_props_must_be_an_object():
    with pytest.raises(PropsError, match="must be an object"):
        parse_props(None)


def test_filters_and_prefix_default_to_none():
    p = parse_props(props())
    assert (p.exclude, p.include, p.key_prefix) == ((), (), "")
    blank = parse_props(props(Exclude="", Include="", DestinationKeyPrefix=""))
    assert (blank.exclude, blank.include, blank.key_prefix) == ((), (), "")


def test_filters_keep_their_order_and_prefix_is_normalised():
    p = parse_props(props(Exclude=["*.map", ".DS_Store"], Include=["keep/*"], DestinationKeyPrefix="docs"))
    assert p.exclude == ("*.map", ".DS_Store") and p.include == ("keep/*",)
    assert p.key_prefix == "docs/"
    assert parse_props(props(DestinationKeyPrefix="a/b/")).key_prefix == "a/b/"


@pytest.mark.parametrize(
    "over,fragment",
    [
        ({"Exclude": "*.map"}, "Exclude must be a list of glob patterns"),
        ({"Include": [""]}, "Include[0] '' must not be empty"),
        ({"Exclude": ["ok", "/abs"]}, "Exclude[1] '/abs' starts with '/'"),
        ({"Exclude": [7]}, "Exclude[0] 7 must be a string"),
        ({"Exclude": ["x"] * 1001}, "at most 1000"),
        ({"DestinationKeyPrefix": "/docs"}, "DestinationKeyPrefix '/docs' must be relative"),
        ({"DestinationKeyPrefix": "a/../b"}, "'..' segments"),
        ({"DestinationKeyPrefix": ["docs"]}, "DestinationKeyPrefix must be a string"),
    ],
)
def test_malformed_filters_and_prefix(over, fragment):
    with pytest.raises(PropsError) as err:
        parse_props(props(**over))
    assert fragment in str(err.value)
