"""FILES-mode window reads. Pure: how entries are grouped (plan.group_reads). With an in-memory fake
S3 client: what one window GET yields (s3io.window_contents): contents byte-exact, CRC checked, a
cut body resumed, an entry whose data lies beyond the window handed back as None."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from handler_support import make_zip

from amplify_deployment_handler import plan as planning
from amplify_deployment_handler.plan import Entry, entry_extent, group_reads
from amplify_deployment_handler.s3io import SourceError, window_contents


def entries_of(data: bytes, source_index: int = 0) -> list[Entry]:
    return [Entry(i.filename, source_index, i) for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]


def site_files(n: int, seed: int = 1, low: int = 1, high: int = 9000) -> dict[str, bytes]:
    rng = random.Random(seed)
    return {f"f/{i:04d}.bin": rng.randbytes(rng.randrange(low, high)) for i in range(n)}


class FakeS3:
    """get_object(Range=...) over in-memory objects; `cut` cuts the next N bodies after some bytes."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.gets: list[tuple[int, int]] = []
        self.cut = 0

    def get_object(self, Bucket: str, Key: str, Range: str) -> dict[str, Any]:  # noqa: N803
        start, end = (int(x) for x in Range.removeprefix("bytes=").split("-"))
        self.gets.append((start, end))
        data = self.objects[Key][start : end + 1]
        return {"Body": _Body(data, cut=len(data) // 2 if self.cut > 0 else None, owner=self)}


class _Body:
    def __init__(self, data: bytes, cut: int | None, owner: FakeS3) -> None:
        self._f = io.BytesIO(data)
        self._cut = cut
        self._owner = owner

    def read(self, n: int = -1) -> bytes:
        if self._cut is not None and self._f.tell() >= self._cut:
            self._owner.cut -= 1
            self._cut = None
            raise ReadTimeoutError(endpoint_url="s3")
        limit = n if self._cut is None else min(n if n >= 0 else 1 << 60, self._cut - self._f.tell())
        return self._f.read(limit)

    def close(self) -> None:
        pass


def read_window(s3: FakeS3, key: str, w: planning.Window) -> dict[str, bytes | None]:
    size = len(s3.objects[key])
    return {i.filename: d for i, d in window_contents(s3, "b", key, [e.info for e in w.entries], size, w.end)}


# -- grouping (pure) -----------------------------------------------------------------------------


def test_every_entry_is_read_once_and_windows_respect_the_limit():
    files = site_files(400, high=40_000)
    files["big/large.bin"] = random.Random(2).randbytes(planning.SMALL_FILE + 1)
    files["big/compressible.txt"] = b"a" * (planning.SMALL_FILE + 1)  # compresses small, inflates large
    entries = entries_of(make_zip(files, zipfile.ZIP_STORED)) + entries_of(make_zip(site_files(50, 3)), 1)
    windows, singles = group_reads(entries, window=256 * 1024)
    seen = [e.path for w in windows for e in w.entries] + [e.path for e in singles]
    assert sorted(seen) == sorted(e.path for e in entries) and len(seen) == len(entries)
    assert sorted(e.path for e in singles) == ["big/compressible.txt", "big/large.bin"]
    assert len(windows) > 10
    for w in windows:
        assert {e.source_index for e in w.entries} == {w.source_index}
        offsets = [e.info.header_offset for e in w.entries]
        assert offsets == sorted(offsets)
        assert w.span <= 256 * 1024
        assert w.end == entry_extent(w.entries[-1].info)
    # consecutive windows of one source: the next entry would have crossed the limit
    for a, b in zip(windows, windows[1:], strict=False):
        if a.source_index == b.source_index:
            assert entry_extent(b.entries[0].info) - a.entries[0].info.header_offset > 256 * 1024


def test_a_window_holds_at_least_one_entry_even_when_it_alone_exceeds_the_limit():
    entries = entries_of(make_zip(site_files(5, low=3000, high=4000), zipfile.ZIP_STORED))
    windows, singles = group_reads(entries, window=100)
    assert not singles and [len(w.entries) for w in windows] == [1] * 5


def test_other_compression_methods_are_not_windowed():
    entries = entries_of(make_zip({"a.txt": "x" * 100}, zipfile.ZIP_BZIP2))
    assert group_reads(entries) == ([], entries)


# -- one window GET ------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_windows_yield_every_file_byte_exact_with_one_get_each(compression):
    files = site_files(300, high=30_000)
    files["empty.txt"] = b""
    data = make_zip(files, compression)
    s3 = FakeS3({"k": data})
    windows, singles = group_reads(entries_of(data), window=200_000)
    assert not singles
    got: dict[str, bytes | None] = {}
    for w in windows:
        got.update(read_window(s3, "k", w))
    assert got == files
    assert len(s3.gets) == len(windows)
    for (start, end), w in zip(s3.gets, windows, strict=True):  # no GET past the window or the object
        assert start == w.entries[0].info.header_offset and end == min(len(data), w.end) - 1


def test_a_cut_window_read_is_resumed_from_the_first_missing_byte():
    files = site_files(50, high=20_000)
    data = make_zip(files)
    s3 = FakeS3({"k": data})
    (w,), _ = group_reads(entries_of(data))
    s3.cut = 2
    assert read_window(s3, "k", w) == files
    assert len(s3.gets) == 3 and s3.gets[1][0] > s3.gets[0][0]  # resumed, not restarted


def test_a_window_that_keeps_being_cut_fails_naming_its_files():
    data = make_zip(site_files(3))
    s3 = FakeS3({"k": data})
    (w,), _ = group_reads(entries_of(data))
    s3.cut = 100
    expected = r"cannot read 'f/0000.bin' and 2 more from s3://b/k: .*resumes failed"
    with pytest.raises(SourceError, match=expected):
        read_window(s3, "k", w)


def test_a_corrupt_entry_fails_its_crc_check():
    files = {"a.txt": b"hello " * 100, "b.txt": b"world"}
    data = bytearray(make_zip(files, zipfile.ZIP_STORED))
    data[data.index(b"world")] ^= 1
    s3 = FakeS3({"k": bytes(data)})
    (w,), _ = group_reads(entries_of(bytes(data)))
    with pytest.raises(SourceError, match=r"'b.txt' is corrupt \(size or CRC mismatch\)"):
        read_window(s3, "k", w)


def test_a_lying_size_cannot_inflate_more_than_it_declares():
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = bomb.compress(b"\0" * 50_000_000) + bomb.flush()
    zi = zipfile.ZipInfo("bomb.bin")
    zi.compress_type = zipfile.ZIP_STORED
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zi, raw)  # stored; then claim it is deflated with a tiny size
    data = bytearray(buf.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    info.compress_type, info.file_size = zipfile.ZIP_DEFLATED, 10
    s3 = FakeS3({"k": bytes(data)})
    w = planning.Window(0, (Entry("bomb.bin", 0, info),), entry_extent(info))
    with pytest.raises(SourceError, match="corrupt"):
        read_window(s3, "k", w)


def test_an_entry_whose_data_lies_beyond_the_window_is_handed_back():
    files = {"a.txt": b"a" * 100, "b.txt": b"b" * 100}
    data = bytearray(make_zip(files, zipfile.ZIP_STORED))
    infos = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()
    # a local header claiming a 2000-byte extra field: its data would start far past the guess
    off = infos[1].header_offset
    struct.pack_into("<H", data, off + 28, 2000)
    s3 = FakeS3({"k": bytes(data)})
    windows, _ = group_reads([Entry(i.filename, 0, i) for i in infos])
    assert read_window(s3, "k", windows[0]) == {"a.txt": b"a" * 100, "b.txt": None}
