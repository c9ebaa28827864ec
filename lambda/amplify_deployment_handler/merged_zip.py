"""ZIP mode's merged site zip: several sources, markers or rewritten names merged into one spool zip
in /tmp (entries without markers copied with their compressed bytes unchanged), streamed from there."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import plan as planning
from .logs import event
from .props import DeploymentProps
from .s3io import CHUNK, raw_entry_chunks
from .sources import Source, content

NO_SPACE = (
    "the merged site zip does not fit in /tmp: raise the function's ephemeral storage "
    "(ephemeral_storage_size) or use UploadMode FILES"
)


@dataclass(frozen=True)
class Spool:
    path: str
    zip_size: int  # bytes of the zip
    content_bytes: int  # bytes of site content in it (uncompressed, markers substituted)


def prepare_spool(
    s3: Any, sources: Sequence[Source], plan: planning.Plan, props: DeploymentProps, tmp_dir: str | None
) -> Spool:
    """Check the zip limit and the free space against an upper-bound estimate, build the merged zip,
    check its real size; the caller deletes the spool file when done."""
    estimate = planning.estimated_zip_size(plan, props)
    planning.check_zip_size(estimate, "the merged site zip")
    if shutil.disk_usage(tmp_dir or tempfile.gettempdir()).free < estimate:
        raise planning.PlanError(NO_SPACE)
    started = time.monotonic()
    path, content_bytes = build_merged_zip(s3, sources, plan.entries, tmp_dir)
    try:
        zip_size = os.path.getsize(path)
        planning.check_zip_size(zip_size, "the merged site zip")
    except BaseException:
        os.unlink(path)
        raise
    event("prepare", merged_zip_bytes=zip_size, seconds=time.monotonic() - started)
    return Spool(path, zip_size, content_bytes)


def spool_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def build_merged_zip(
    s3: Any, sources: Sequence[Source], entries: Sequence[planning.Entry], tmp_dir: str | None
) -> tuple[str, int]:
    """Write the merged site to a spool zip in tmp_dir; (path, bytes of site content)."""
    fd, path = tempfile.mkstemp(prefix="amplify-site-", suffix=".zip", dir=tmp_dir)
    try:
        return _write_merged_zip(s3, sources, entries, fd, path)
    except OSError as exc:
        os.unlink(path)
        if exc.errno == errno.ENOSPC:
            raise planning.PlanError(NO_SPACE) from exc
        raise
    except BaseException:
        os.unlink(path)
        raise


def _write_merged_zip(
    s3: Any, sources: Sequence[Source], entries: Sequence[planning.Entry], fd: int, path: str
) -> tuple[str, int]:
    content_bytes = 0
    with os.fdopen(fd, "w+b") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
        raw_ok = _raw_copy_supported(out)
        for e in entries:
            src = sources[e.source_index]
            if not src.markers and raw_ok:
                _copy_raw(out, e.path, e.info, raw_entry_chunks(s3, src.bucket, src.key, e.info, src.size))
                content_bytes += e.size
                continue
            zi = zipfile.ZipInfo(e.path, date_time=e.info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = e.info.external_attr
            with out.open(zi, "w", force_zip64=e.size > 1 << 30) as w:
                for chunk in content(s3, src, e):
                    w.write(chunk)
                    content_bytes += len(chunk)
    return path, content_bytes


def _raw_copy_supported(out: zipfile.ZipFile) -> bool:
    """Raw copies use zipfile internals that have been stable for years (FileHeader, filelist,
    NameToInfo, start_dir); if a future Python drops one, entries are recompressed instead."""
    return hasattr(zipfile.ZipInfo, "FileHeader") and all(
        hasattr(out, a) for a in ("fp", "filelist", "NameToInfo", "start_dir", "_didModify")
    )


def _copy_raw(out: zipfile.ZipFile, path: str, info: zipfile.ZipInfo, chunks: Iterable[bytes]) -> None:
    """Append an entry's compressed bytes unchanged (no decompress/recompress)."""
    zi = zipfile.ZipInfo(path, date_time=info.date_time)
    zi.compress_type = info.compress_type
    zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
    zi.external_attr = info.external_attr
    zi.create_system = info.create_system
    zi.flag_bits = info.flag_bits & 0x6  # keep deflate's level bits; sizes go in the local header
    fp: Any = out.fp
    zi.header_offset = fp.tell()
    zip64 = zi.file_size > zipfile.ZIP64_LIMIT or zi.compress_size > zipfile.ZIP64_LIMIT
    fp.write(zi.FileHeader(zip64))
    for chunk in chunks:
        fp.write(chunk)
    out.filelist.append(zi)
    out.NameToInfo[zi.filename] = zi
    out.start_dir = fp.tell()
    out._didModify = True  # type: ignore[attr-defined]
