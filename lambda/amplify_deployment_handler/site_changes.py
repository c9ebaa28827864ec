"""Count what a deployment changes (changes.py) by reading the previous site's central directories,
best effort and within a time bound; logs the one `changes` line.

- Create: every file is added; nothing is read (ZIP and FILES have the new site's listing already).
- Update: the previous properties (CloudFormation's OldResourceProperties) are parsed, their sources
  HEADed and their zips' central directories read (`sources.read_sources`: one ranged GET each,
  like the plan's), then merged under the previous filters and prefix.
- PULL mode keeps its promise of reading no byte of file content: there the new and the previous
  zips are read with `directory_only` (the 22-byte end record, then exactly the central directory:
  two ranged GETs, three for a zip64), never a byte before the central directory.

The reads run on a daemon thread that the deployment waits for at most `Settings.changes_budget_s`
seconds (never past the deadline). A previous object that is gone (a garbage-collected asset, a
bucket the function cannot read), a read that fails or takes longer, or previous properties that do
not parse give no counts: the line says why, and the deployment goes on as if nothing was compared.
A read still running past the bound is left to end on its own; its result is dropped.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import plan as planning
from .changes import NotCounted, Outcome, SiteFiles, compare, files_of, log_fields, site_files
from .deadline import Deadline
from .logs import event
from .props import PULL, DeploymentProps, PropsError, parse_props
from .s3io import RangedReader, SourceError, head_size, s3_label
from .sources import read_sources

CREATE = "Create"
UPDATE = "Update"
CHANGES_BUDGET_S = 5.0  # default: the longest the comparison may add to a deployment

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record: 22 bytes (no comment)
_EOCD_SIG = b"PK\x05\x06"
_ZIP64_RECORD = 56  # the zip64 end record as zipfile reads it (no extensible data)
_ZIP64_LOCATOR = 20
_ZIP64_RECORD_SIG = b"PK\x06\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"


@dataclass(frozen=True)
class Previous:
    """What a deployment is compared with: on Create nothing; on Update the previous properties as
    CloudFormation sent them (OldResourceProperties, not yet parsed)."""

    request: str  # CREATE or UPDATE
    properties: Any = None


def count_changes(
    s3: Any,
    props: DeploymentProps,
    new_entries: Sequence[planning.Entry] | None,
    previous: Previous,
    budget_s: float,
    deadline: Deadline,
) -> Outcome:
    """What deploying `props` changes, and the `changes` log line. `new_entries`: the planned site
    (None in PULL mode: its zip's directory is read here). Never raises; waits at most `budget_s`."""
    started = time.monotonic()
    outcome = _outcome(s3, props, new_entries, previous, min(budget_s, deadline.remaining()))
    compared = "nothing (Create)" if previous.request == CREATE else "the previous properties"
    event("changes", **log_fields(outcome), compared_with=compared, seconds=time.monotonic() - started)
    return outcome


def _outcome(
    s3: Any,
    props: DeploymentProps,
    new_entries: Sequence[planning.Entry] | None,
    previous: Previous,
    bound_s: float,
) -> Outcome:
    old_props: DeploymentProps | None = None
    if previous.request != CREATE:
        try:
            old_props = parse_props(previous.properties)
        except PropsError as exc:
            return NotCounted(f"the previous properties cannot be parsed ({exc})")
    if old_props is None and new_entries is not None:
        return compare({}, files_of(props, new_entries))  # Create: nothing to read
    if bound_s <= 0:
        return NotCounted("not compared: the time allowed for it is 0 s (AMPLIFY_DEPLOYMENT_CHANGES_SECONDS)")
    strict = props.upload_mode == PULL  # PULL reads no byte of file content, not even for this

    def work() -> Outcome:
        new: SiteFiles
        if new_entries is not None:
            new = files_of(props, new_entries)
        else:
            new = _read_site(s3, props, strict, "the new zip")
        old: SiteFiles = {}
        if old_props is not None:
            old = _read_site(s3, old_props, strict, "the previous site")
        return compare(old, new)

    return bounded(work, bound_s)


def _read_site(s3: Any, props: DeploymentProps, strict: bool, what: str) -> SiteFiles:
    """The site `props` describe, from its sources' central directories; SourceError naming `what`."""
    try:
        if not strict:
            return site_files(props, read_sources(s3, props)[1])
        listings = []
        for i, s in enumerate(props.sources):
            size = head_size(s3, s.bucket, s.key)
            with directory_only(s3, s.bucket, s.key, size) as zf:
                listings.append(planning.list_source(zf.infolist(), i, f"Sources[{i}]"))
        return site_files(props, listings)
    except (SourceError, planning.PlanError) as exc:
        raise SourceError(f"{what} cannot be read: {exc}") from exc


def bounded(work: Callable[[], Outcome], seconds: float) -> Outcome:
    """`work()` on a daemon thread, waited for at most `seconds`; NotCounted when it fails or is
    not done by then (it is left to finish on its own, its result dropped)."""
    box: list[Outcome] = []

    def run() -> None:
        try:
            box.append(work())
        except SourceError as exc:
            box.append(NotCounted(str(exc)))
        except Exception as exc:  # best effort: a bug here must not fail the deployment
            box.append(NotCounted(f"internal error: {type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, name="site-changes", daemon=True)
    thread.start()
    thread.join(seconds)
    if not box:
        return NotCounted(f"the previous site was not read within {seconds:g} s; the deployment went on")
    return box[0]


class _Tail(io.RawIOBase):
    """A zip's size-long view holding only bytes [floor, size) (its central directory and end
    records); a read below `floor` gives zeros: those bytes are never fetched."""

    def __init__(self, size: int, floor: int, data: bytes) -> None:
        super().__init__()
        self._size, self._floor, self._data = size, floor, data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the object")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if end <= self._pos:
            return b""
        zeros = max(0, min(end, self._floor) - self._pos)
        start = max(self._pos, self._floor) - self._floor
        out = b"\0" * zeros + self._data[start : end - self._floor]
        self._pos = end
        return out

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def directory_only(s3: Any, bucket: str, key: str, size: int) -> zipfile.ZipFile:
    """The zip's central directory, read without a byte before it: one ranged GET of the 22-byte end
    record (a zip64 also its 76 bytes of zip64 end records), one of exactly the central directory.
    A zip ending with a comment is not read (finding its end record would mean reading back)."""
    label = s3_label(bucket, key)
    if size < _EOCD.size:
        raise SourceError(f"source {label} is not a zip file ({size} bytes)")
    reader = RangedReader(s3, bucket, key, size, read_ahead=0)
    reader.seek(size - _EOCD.size)
    end = reader.read(_EOCD.size)
    sig, _, _, _, count, cd_size, cd_offset, comment = _EOCD.unpack(end)
    if sig != _EOCD_SIG or comment:
        raise SourceError(f"source {label} does not end with a zip end record (not a zip, or a zip comment)")
    tail = end
    if count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        records_len = _ZIP64_RECORD + _ZIP64_LOCATOR
        if size < records_len + _EOCD.size:
            raise SourceError(f"source {label} is not a zip file (zip64 records missing)")
        reader.seek(size - _EOCD.size - records_len)
        records = reader.read(records_len)
        if (
            records[:4] != _ZIP64_RECORD_SIG
            or records[_ZIP64_RECORD : _ZIP64_RECORD + 4] != _ZIP64_LOCATOR_SIG
        ):
            raise SourceError(f"source {label}: its zip64 end records are not where expected")
        cd_size = struct.unpack_from("<Q", records, 40)[0]
        tail = records + end
    floor = size - len(tail) - cd_size
    if floor < 0:
        raise SourceError(f"source {label} is not a zip file (its directory size is wrong)")
    reader.seek(floor)
    directory = reader.read(cd_size) if cd_size else b""
    try:
        return zipfile.ZipFile(_Tail(size, floor, directory + tail))
    except (zipfile.BadZipFile, ValueError, NotImplementedError) as exc:
        raise SourceError(f"source {label} cannot be read as a zip ({exc})") from exc
    except UnicodeDecodeError:
        raise SourceError(f"source {label}: an entry name is not valid UTF-8") from None
