"""S3 side against moto S3 on 127.0.0.1 (the sandbox's server): ranged reader, entry streams, merged zip."""

from __future__ import annotations

import io
import os
import random
import zipfile

import pytest
from handler_support import make_zip

from amplify_deployment_handler.markers import substitute_bytes
from amplify_deployment_handler.merged_zip import build_merged_zip
from amplify_deployment_handler.plan import list_source, make_plan
from amplify_deployment_handler.props import parse_props
from amplify_deployment_handler.s3io import (
    RangedReader,
    SourceError,
    entry_chunks,
    head_size,
    open_zip,
    raw_entry_chunks,
)
from amplify_deployment_handler.sources import Source

BUCKET = "src"


@pytest.fixture
def s3(sandbox):
    client = sandbox.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def put(s3, key: str, data: bytes) -> int:
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return len(data)


def test_ranged_reader_behaves_like_a_file(s3):
    data = random.Random(1).randbytes(300_000)
    size = put(s3, "blob", data)
    reader = RangedReader(s3, BUCKET, "blob", size, read_ahead=64 * 1024)
    ref = io.BytesIO(data)
    rng = random.Random(2)
    for _ in range(200):
        pos, n = rng.randrange(0, size + 10), rng.randrange(0, 90_000)
        whence = rng.choice([0, 2])
        offset = pos if whence == 0 else pos - size
        assert reader.seek(offset, whence) == ref.seek(offset, whence)
        assert reader.read(n) == ref.read(n)
        assert reader.tell() == ref.tell()
    reader.seek(-5, 2)
    assert reader.read() == data[-5:]


def test_listing_a_large_zip_reads_only_its_end(s3):
    rng = random.Random(3)
    files = {f"assets/{i}.bin": rng.randbytes(200_000) for i in range(40)}  # ~8 MB, incompressible
    size = put(s3, "big.zip", make_zip(files, zipfile.ZIP_STORED))
    reader = RangedReader(s3, BUCKET, "big.zip", size, read_ahead=256 * 1024)
    names = [i.filename for i in zipfile.ZipFile(reader).infolist()]
    assert names == list(files)
    assert reader.requests == 1  # the end of the object only, not the 8 MB of content


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_entry_chunks_stream_each_file(s3, compression):
    rng = random.Random(4)
    files = {"index.html": b"<h1>hi</h1>" * 1000, "empty.txt": b"", "r.bin": rng.randbytes(700_000)}
    size = put(s3, "site.zip", make_zip(files, compression))
    with open_zip(s3, BUCKET, "site.zip", size) as zf:
        for info in zf.infolist():
            assert b"".join(entry_chunks(s3, BUCKET, "site.zip", info, size)) == files[info.filename]
            raw = b"".join(raw_entry_chunks(s3, BUCKET, "site.zip", info, size))
            assert len(raw) == info.compress_size


def test_a_corrupt_entry_is_detected(s3):
    data = bytearray(make_zip({"a.txt": b"hello world"}, zipfile.ZIP_STORED))
    at = bytes(data).index(b"hello world")
    data[at] = ord("j")
    size = put(s3, "bad.zip", bytes(data))
    with open_zip(s3, BUCKET, "bad.zip", size) as zf:
        info = zf.infolist()[0]
        with pytest.raises(SourceError, match="corrupt"):
            b"".join(entry_chunks(s3, BUCKET, "bad.zip", info, size))


def test_missing_and_non_zip_sources_name_the_object(s3):
    with pytest.raises(SourceError, match=r"s3://src/nope.zip: (404|NoSuchKey|Not Found)"):
        head_size(s3, BUCKET, "nope.zip")
    size = put(s3, "text.zip", b"this is not a zip")
    with pytest.raises(SourceError, match="s3://src/text.zip is not a zip file"):
        open_zip(s3, BUCKET, "text.zip", size)


def test_a_name_flagged_utf8_that_is_not_is_rejected(s3):
    data = bytearray(make_zip({"bad-X.txt": b"x"}))
    data = bytearray(bytes(data).replace(b"bad-X.txt", b"bad-\xff.txt"))
    # set the UTF-8 flag (bit 11) in the local and central headers
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = bytes(data).index(sig)
        data[i + flag_at + 1] |= 0x08
    size = put(s3, "badname.zip", bytes(data))
    with pytest.raises(SourceError, match="not valid UTF-8"):
        open_zip(s3, BUCKET, "badname.zip", size)


def test_merged_zip_later_source_wins_with_markers_and_raw_copies(s3, tmp_path):
    rng = random.Random(5)
    big = rng.randbytes(500_000)
    one = {"index.html": "<h1>old</h1>", "img/big.bin": big, "keep.txt": "kept"}
    two = {"index.html": "<h1><<marker:0xbaba:0>></h1>", "config.json": '{"api": "<<marker:0xbaba:1>>"}'}
    markers = {"<<marker:0xbaba:0>>": "new", "<<marker:0xbaba:1>>": 'https://x/"q"'}
    k1, k2 = "one.zip", "two.zip"
    s1 = put(s3, k1, make_zip(one, zipfile.ZIP_STORED))
    s2 = put(s3, k2, make_zip(two))
    props = parse_props(
        {
            "AppId": "d1",
            "BranchName": "main",
            "Sources": [
                {"BucketName": BUCKET, "ObjectKey": k1},
                {
                    "BucketName": BUCKET,
                    "ObjectKey": k2,
                    "Markers": markers,
                    "MarkersConfig": {"JsonEscape": "true"},
                },
            ],
        }
    )
    listings = []
    for i, (k, s) in enumerate(((k1, s1), (k2, s2))):
        with open_zip(s3, BUCKET, k, s) as zf:
            listings.append(list_source(zf.infolist(), i, f"Sources[{i}]"))
    plan = make_plan(props, listings)
    sources = [
        Source(BUCKET, k1, s1, ()),
        Source(BUCKET, k2, s2, props.sources[1].markers),
    ]
    path, content_bytes = build_merged_zip(s3, sources, plan.entries, str(tmp_path))
    try:
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None
            assert sorted(zf.namelist()) == ["config.json", "img/big.bin", "index.html", "keep.txt"]
            assert zf.read("index.html") == b"<h1>new</h1>"
            assert zf.read("config.json") == b'{"api": "https://x/\\"q\\""}'
            assert zf.read("img/big.bin") == big
            assert zf.getinfo("img/big.bin").compress_type == zipfile.ZIP_STORED  # copied raw
        expected = sum(len(substitute_bytes(b, ())) for b in (big, b"kept")) + len(b"<h1>new</h1>")
        assert content_bytes == expected + len(b'{"api": "https://x/\\"q\\""}')
    finally:
        os.unlink(path)
