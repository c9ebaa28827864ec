"""S3 reads without holding a site in memory or on disk.

- `RangedReader`: a seekable file over one S3 object made of ranged GETs with a read-ahead buffer;
  `zipfile.ZipFile` reads a source zip's central directory through it.
- `entry_chunks` / `raw_entry_chunks`: one zip entry's bytes (decompressed, or as stored), streamed by
  a single ranged GET per entry, with CRC and size checks.
- `window_contents`: the contents of several small consecutive entries of a zip, from one ranged GET
  of at most `plan.WINDOW` bytes (FILES mode's md5 pass), CRC and size checked.
- `object_chunks`: a whole object, streamed.

A read cut mid-stream (connection reset, incomplete body, read timeout) is resumed with a ranged GET
from the first missing byte (`_Range`), up to `MAX_RESUMES` times per stream: a source read never
yields truncated bytes, and a transient cut does not fail the deployment.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .error_codes import botocore_error_code
from .logs import event

CHUNK = 256 * 1024
READ_AHEAD = 64 * 1024  # the tail read that lists a zip: its end records + a typical central directory
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature .. extra length: 30 bytes
_LOCAL_SIG = b"PK\x03\x04"
_HEADER_SLACK = 512  # extra bytes fetched beyond the central-directory guess of the local header
MAX_RESUMES = 4  # per stream: ranged re-GETs after a read cut mid-stream


class SourceError(Exception):
    """A source object cannot be read; the message is a short reason naming s3://bucket/key."""


def s3_label(bucket: str, key: str) -> str:
    shown = key if len(key) <= 80 else key[:77] + "..."
    return f"s3://{bucket}/{shown}"


def head_size(client: Any, bucket: str, key: str) -> int:
    try:
        return int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"cannot read source {s3_label(bucket, key)}: {botocore_error_code(exc)}") from exc


def _get_range(client: Any, bucket: str, key: str, start: int, end: int) -> Any:
    """GET bytes [start, end] (inclusive); returns the streaming body."""
    resp = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end}")
    return resp["Body"]


class _Range:
    """Bytes [start, end] of an object, read in order; a read that fails mid-stream (a BotoCoreError:
    connection broken, incomplete read, timeout) or ends early is resumed with a ranged GET from the
    first missing byte. A refusal (ClientError, after botocore's own retries) is not resumed."""

    def __init__(
        self, client: Any, bucket: str, key: str, start: int, end: int, what: str, body: Any = None
    ) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self.pos, self.end = start, end
        self._what = what  # "source s3://b/k" or "'path' from s3://b/k": named in errors
        self._body = body
        self.resumes = 0

    def read(self, n: int) -> bytes:
        """Exactly min(n, bytes left) bytes."""
        n = min(n, self.end - self.pos + 1)
        parts: list[bytes] = []
        got = 0
        while got < n:
            problem = "short read"
            chunk = b""
            try:
                if self._body is None:
                    self._body = _get_range(self._client, self._bucket, self._key, self.pos, self.end)
                chunk = self._body.read(n - got)
            except ClientError as exc:
                raise SourceError(f"cannot read {self._what}: {botocore_error_code(exc)}") from exc
            except BotoCoreError as exc:
                problem = botocore_error_code(exc)
            if chunk:
                parts.append(chunk)
                got += len(chunk)
                self.pos += len(chunk)
                continue
            self._resume(problem)
        return b"".join(parts)

    def _resume(self, problem: str) -> None:
        self.close()
        self.resumes += 1
        if self.resumes > MAX_RESUMES:
            raise SourceError(
                f"cannot read {self._what}: {problem} at byte {self.pos}, {MAX_RESUMES} resumes failed"
            )
        event("retry", msg=f"s3: read of {self._what} cut at byte {self.pos} ({problem}), resuming")

    def drain(self) -> None:
        """Read what is left of the current GET (a few slack bytes) so the connection can be reused."""
        if self._body is not None:
            try:
                self._body.read()
            except BotoCoreError:
                self.close()

    def close(self) -> None:
        if self._body is not None:
            # closing a broken stream must not hide the real error
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None


class RangedReader(io.RawIOBase):
    """Read-only seekable view of an S3 object: each miss fetches max(n, read_ahead) bytes (ending at
    the object's end when near it, so a zip's end records and central directory come in one GET)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, read_ahead: int = READ_AHEAD) -> None:
        super().__init__()
        self._client, self._bucket, self._key = client, bucket, key
        self._size = size
        self._read_ahead = read_ahead
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self.requests = 0  # ranged GETs made (for tests and logs)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise OSError("seek before the start of the object")
        self._pos = pos
        return pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = min(size, self._size - self._pos)
        if size <= 0:
            return b""
        offset = self._pos - self._buf_start
        if not (0 <= offset and offset + size <= len(self._buf)):
            self._fill(size)
            offset = self._pos - self._buf_start
        data = self._buf[offset : offset + size]
        self._pos += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def _fill(self, size: int) -> None:
        want = max(size, self._read_ahead)
        # Near the end of the object (a zip's end records and central directory), read back as well.
        start = max(0, min(self._pos, self._size - want))
        end = min(self._size, start + want) - 1
        label = s3_label(self._bucket, self._key)
        rng = _Range(self._client, self._bucket, self._key, start, end, f"source {label}")
        try:
            data = rng.read(end - start + 1)
        finally:
            rng.close()
        self.requests += 1 + rng.resumes
        if len(data) != end - start + 1:
            raise SourceError(f"short read from {s3_label(self._bucket, self._key)} at byte {start}")
        self._buf, self._buf_start = data, start


def open_zip(client: Any, bucket: str, key: str, size: int) -> zipfile.ZipFile:
    """The source zip's central directory, read with ranged GETs (file contents are not fetched)."""
    label = s3_label(bucket, key)
    reader = RangedReader(client, bucket, key, size)
    try:
        return zipfile.ZipFile(reader)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"source {label} is not a zip file ({exc})") from exc
    except UnicodeDecodeError:
        raise SourceError(f"source {label}: an entry name is not valid UTF-8") from None
    except (zipfile.LargeZipFile, NotImplementedError, ValueError) as exc:
        raise SourceError(f"source {label} cannot be read as a zip ({exc})") from exc


def _local_header_len(header: bytes, label: str, name: str) -> int:
    if len(header) < _LOCAL_HEADER.size or header[:4] != _LOCAL_SIG:
        raise SourceError(f"source {label}: bad local header for {name!r:.80}")
    fields = _LOCAL_HEADER.unpack_from(header)
    name_len, extra_len = fields[-2], fields[-1]
    return int(_LOCAL_HEADER.size + name_len + extra_len)


def _stored_chunks(
    client: Any, bucket: str, key: str, info: zipfile.ZipInfo, object_size: int
) -> Iterator[bytes]:
    """The entry's stored (compressed) bytes, from one ranged GET (two if the local header's extra
    field is much longer than the central directory's)."""
    label = s3_label(bucket, key)
    start = info.header_offset
    guess = _LOCAL_HEADER.size + len(info.orig_filename.encode("utf-8")) * 2 + len(info.extra) + _HEADER_SLACK
    end = min(object_size, start + guess + info.compress_size) - 1
    what = f"{info.filename!r:.60} from {label}"
    rng = _Range(client, bucket, key, start, end, what)
    try:
        head = rng.read(min(guess, end - start + 1))
        data_start = _local_header_len(head, label, info.filename)
        if data_start > len(head) or data_start + info.compress_size > end - start + 1:
            rng.close()
            first = start + data_start
            rng = _Range(client, bucket, key, first, first + info.compress_size - 1, what)
            pending = b""
        else:
            pending = head[data_start : data_start + info.compress_size]
        left = info.compress_size - len(pending)
        if pending:
            yield pending
        while left > 0:
            chunk = rng.read(min(CHUNK, left))
            if not chunk:
                raise SourceError(f"source {label}: short read in {info.filename!r:.80}")
            left -= len(chunk)
            yield chunk
        rng.drain()
    finally:
        rng.close()


def raw_entry_chunks(
    client: Any, bucket: str, key: str, info: zipfile.ZipInfo, object_size: int
) -> Iterator[bytes]:
    """The entry's compressed bytes as stored, for copying into another zip unchanged."""
    if info.compress_size == 0:
        return iter(())
    return _stored_chunks(client, bucket, key, info, object_size)


def entry_chunks(
    client: Any, bucket: str, key: str, info: zipfile.ZipInfo, object_size: int
) -> Iterator[bytes]:
    """The entry's content, decompressed on the fly (STORED or DEFLATED), CRC and size checked."""
    label = s3_label(bucket, key)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise SourceError(
            f"source {label}: {info.filename!r:.60} uses compression method {info.compress_type}; "
            "only stored and deflate are supported"
        )
    stored = raw_entry_chunks(client, bucket, key, info, object_size)
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    crc = 0
    total = 0
    for piece in stored:
        if inflater is None:
            out = [piece]
        else:
            out = []
            data = piece
            while data:
                out.append(inflater.decompress(data, CHUNK))
                data = inflater.unconsumed_tail
        for chunk in out:
            if chunk:
                crc = zlib.crc32(chunk, crc)
                total += len(chunk)
                yield chunk
    if inflater is not None:
        rest = inflater.flush()
        if rest:
            crc = zlib.crc32(rest, crc)
            total += len(rest)
            yield rest
    if total != info.file_size or crc != info.CRC:
        raise SourceError(f"source {label}: {info.filename!r:.60} is corrupt (size or CRC mismatch)")


class WindowBuffer:
    """Bytes [start, start + len(buf)) of a zip, read with one GET (`read_window`): the stored data
    of several consecutive small entries. `content(info)` inflates one of them from it."""

    def __init__(self, buf: bytes, start: int, label: str) -> None:
        self.buf, self.start, self.label = buf, start, label

    def data_slice(self, info: zipfile.ZipInfo) -> tuple[int, int] | None:
        """Where the entry's stored bytes lie in the buffer, or None when they are not all inside it
        (a local extra field far longer than the central directory's)."""
        off = info.header_offset - self.start
        if not 0 <= off <= len(self.buf) - _LOCAL_HEADER.size:
            return None
        header = self.buf[off : off + _LOCAL_HEADER.size]
        data_start = off + _local_header_len(header, self.label, info.filename)
        if data_start + info.compress_size > len(self.buf):
            return None
        return data_start, data_start + info.compress_size

    def content(self, info: zipfile.ZipInfo) -> bytes | None:
        """The entry's content, decompressed (at most file_size + 1 bytes are inflated), size and CRC
        checked; None when its data is not inside the buffer (the caller streams that one)."""
        where = self.data_slice(info)
        if where is None:
            return None
        return _inflate_checked(memoryview(self.buf)[where[0] : where[1]], info, self.label)


def read_window(
    client: Any, bucket: str, key: str, infos: Sequence[zipfile.ZipInfo], object_size: int, end: int
) -> WindowBuffer:
    """ONE ranged GET of bytes [infos[0].header_offset, end) (clamped to the object; `end` from
    `plan.entry_extent`) for consecutive small entries of one zip, sorted by `header_offset`;
    resumed like any read if cut."""
    label = s3_label(bucket, key)
    start = infos[0].header_offset
    last = min(object_size, end) - 1
    more = f" and {len(infos) - 1} more" if len(infos) > 1 else ""
    rng = _Range(client, bucket, key, start, last, f"{infos[0].filename!r:.60}{more} from {label}")
    try:
        buf = rng.read(last - start + 1)
    finally:
        rng.close()
    if len(buf) != last - start + 1:
        raise SourceError(f"short read from {label} at byte {start}")
    return WindowBuffer(buf, start, label)


def window_contents(
    client: Any, bucket: str, key: str, infos: Sequence[zipfile.ZipInfo], object_size: int, end: int
) -> Iterator[tuple[zipfile.ZipInfo, bytes | None]]:
    """(info, content) for consecutive small entries of one zip (stored or deflate), from ONE ranged
    GET (`read_window`). Each content is decompressed, size and CRC checked; `None` for an entry whose
    data is not inside the buffer: the caller reads that one on its own. Memory: the window buffer
    plus one entry's content at a time."""
    window = read_window(client, bucket, key, infos, object_size, end)
    for info in infos:
        yield info, window.content(info)


def _inflate_checked(raw: memoryview, info: zipfile.ZipInfo, label: str) -> bytes:
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, info.file_size + 1)  # a lying size cannot inflate more
        except zlib.error:
            data = b""  # reported as corrupt below
    elif info.compress_type == zipfile.ZIP_STORED:
        data = bytes(raw)
    else:
        raise SourceError(
            f"source {label}: {info.filename!r:.60} uses compression method {info.compress_type}; "
            "only stored and deflate are supported"
        )
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise SourceError(f"source {label}: {info.filename!r:.60} is corrupt (size or CRC mismatch)")
    return data


def object_chunks(client: Any, bucket: str, key: str) -> tuple[Iterator[bytes], int]:
    """(chunks of the whole object, its size) from one GET."""
    label = s3_label(bucket, key)
    try:
        resp = client.get_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"cannot read source {label}: {botocore_error_code(exc)}") from exc
    size = int(resp["ContentLength"])
    rng = _Range(client, bucket, key, 0, size - 1, f"source {label}", body=resp["Body"])

    def chunks() -> Iterator[bytes]:
        try:
            left = size
            while left > 0:
                chunk = rng.read(min(CHUNK, left))
                if not chunk:
                    raise SourceError(f"source {label}: short read")
                left -= len(chunk)
                yield chunk
        finally:
            rng.close()

    return chunks(), size
