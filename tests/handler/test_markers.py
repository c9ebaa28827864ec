"""Pure: streaming marker substitution gives the same bytes as whole-content replacement."""

from __future__ import annotations

import random

import pytest

from amplify_deployment_handler.markers import substitute, substitute_bytes

MARKERS = (
    (b"<<marker:0xbaba:0>>", b"VALUE-0"),
    (b"<<marker:0xbaba:1>>", b""),
    (b"<<m>>", b"<<marker:0xbaba:9>>"),
)


def chunked(data: bytes, rng: random.Random) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 23)
        out.append(data[i : i + n])
        i += n
    return out


@pytest.mark.parametrize("seed", range(30))
def test_any_chunking_gives_the_same_result(seed):
    rng = random.Random(seed)
    pieces = [b"<<marker:0xbaba:0>>", b"<<marker:0xbaba:1>>", b"<<m>>", b"<<", b"marker", b"x", b"\n", b">>"]
    data = b"".join(rng.choice(pieces) for _ in range(200))
    expected = substitute_bytes(data, MARKERS)
    assert b"".join(substitute(chunked(data, rng), MARKERS)) == expected


def test_markers_apply_in_order_like_the_s3_deployment_handler():
    # a value that contains a later marker is substituted again (sequential replace)
    markers = ((b"<<a>>", b"<<b>>!"), (b"<<b>>", b"B"))
    assert b"".join(substitute([b"x<<a", b">>y"], markers)) == b"xB!y"


def test_no_markers_passes_chunks_through():
    assert list(substitute([b"ab", b"cd"], ())) == [b"ab", b"cd"]


def test_marker_at_the_very_end_and_partial_marker_kept():
    assert b"".join(substitute([b"abc<<marker:0xbaba:", b"0>>"], MARKERS)) == b"abcVALUE-0"
    assert b"".join(substitute([b"abc<<marker:0xbaba:"], MARKERS)) == b"abc<<marker:0xbaba:"
