"""Which files the site has and how they reach Amplify (pure: works on zipfile.ZipInfo lists).

A site is the merge of its sources' zips in order: a later source wins on the same path. The
Exclude/Include filters then select its files and the destination key prefix is put in front of every
path (site_paths.py). In ZIP mode a single source without markers whose names need no rewriting, with
no filter that removes a file and no prefix, is streamed from S3 as it is; anything else is rebuilt
into one merged zip.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .props import FILES, ZIP, DeploymentProps
from .rules import FILE_NAME_MAX
from .site_paths import SiteFilter, is_absolute

ZIP_MAX_BYTES = 5_000_000_000  # Amplify: "5GB" for a manual deployment's zip (decimal: the safe reading)
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
# Per entry: local header (30) + central header (46) + both names + zip64 extras, generously.
_ZIP_ENTRY_OVERHEAD = 30 + 46 + 64


class PlanError(ValueError):
    """The sources cannot make a site; the message is a short reason naming the path and source."""


@dataclass(frozen=True)
class Entry:
    """One file of the site: where it comes from (source index + its central-directory record)."""

    path: str
    source_index: int
    info: zipfile.ZipInfo

    @property
    def size(self) -> int:
        return self.info.file_size


@dataclass(frozen=True)
class SourceListing:
    """The files of one source zip, validated; `clean` when the zip can be passed on unchanged."""

    entries: tuple[Entry, ...]
    clean: bool


@dataclass(frozen=True)
class Plan:
    mode: str
    entries: tuple[Entry, ...]  # the merged site, sorted by path
    direct: bool  # ZIP mode: stream the single source object as it is

    @property
    def file_count(self) -> int:
        return len(self.entries)

    @property
    def byte_count(self) -> int:
        """Uncompressed bytes of the site before marker substitution."""
        return sum(e.size for e in self.entries)

    @property
    def has_index_html(self) -> bool:
        return any(e.path == "index.html" for e in self.entries)


def raw_name(info: zipfile.ZipInfo) -> bytes:
    """The entry name's bytes as stored in the zip."""
    name = info.orig_filename
    if info.flag_bits & _UTF8_FLAG:
        return name.encode("utf-8", "surrogateescape")
    return name.encode("cp437")


def normalize_path(info: zipfile.ZipInfo, label: str) -> tuple[str | None, bool]:
    """Entry -> (site path, or None for a folder entry; True when the stored name is already that path).

    Rejects names that are not UTF-8, absolute, climb out with '..', use backslashes or NUL,
    and encrypted entries or symbolic links.
    """
    try:
        name = raw_name(info).decode("utf-8")
    except UnicodeError:
        raise PlanError(f"{label}: an entry name is not valid UTF-8 ({info.orig_filename!r:.60})") from None
    shown = f"{name!r:.80}"
    if "\x00" in name or "\\" in name:
        raise PlanError(f"{label}: entry {shown} contains a backslash or NUL; use '/' separators")
    if is_absolute(name):
        raise PlanError(f"{label}: entry {shown} is an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise PlanError(f"{label}: entry {shown} contains '..'")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise PlanError(f"{label}: entry {shown} is a symbolic link; zip the link's target instead")
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise PlanError(f"{label}: entry {shown} is encrypted")
    is_dir = name.endswith("/") or stat.S_ISDIR(mode)
    kept = [p for p in parts if p not in ("", ".")]
    if is_dir:
        return None, "/".join(kept) + "/" == name or not kept
    path = "/".join(kept)
    if not path:
        raise PlanError(f"{label}: entry {shown} has no file name")
    ascii_or_flagged = name.isascii() or bool(info.flag_bits & _UTF8_FLAG)
    return path, path == name and ascii_or_flagged


def list_source(infos: Iterable[zipfile.ZipInfo], source_index: int, label: str) -> SourceListing:
    """Validate one source zip's entries: no duplicates, no unsafe names."""
    entries: list[Entry] = []
    seen: set[str] = set()
    clean = True
    for info in infos:
        path, same = normalize_path(info, label)
        clean = clean and same
        if path is None:
            continue
        if path in seen:
            raise PlanError(f"{label}: {path!r:.80} appears twice in the zip")
        seen.add(path)
        entries.append(Entry(path, source_index, info))
    return SourceListing(tuple(entries), clean)


def merge(
    listings: Sequence[SourceListing], site_filter: SiteFilter | None = None, key_prefix: str = ""
) -> tuple[Entry, ...]:
    """Later sources win on the same path; then the filters select the files (on paths relative to
    the site root) and the prefix is put in front of every path. Rejects a path that is a file in one
    place and a folder in another among the files kept (Amplify could not serve both)."""
    site: dict[str, Entry] = {}
    for listing in listings:
        for entry in listing.entries:
            site[entry.path] = entry
    if site_filter is not None and site_filter.active:
        site = {path: entry for path, entry in site.items() if site_filter.includes(path)}
    folders: set[str] = set()
    for path in site:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folders.add("/".join(parts[:i]))
    clash = sorted(folders.intersection(site))
    if clash:
        raise PlanError(f"{clash[0]!r:.80} is both a file and a folder in the merged site")
    if key_prefix:
        return tuple(Entry(key_prefix + p, site[p].source_index, site[p].info) for p in sorted(site))
    return tuple(site[p] for p in sorted(site))


def make_plan(props: DeploymentProps, listings: Sequence[SourceListing]) -> Plan:
    """Merge the sources, filter and prefix the site, choose how to upload it; PlanError when the
    site cannot deploy."""
    entries = merge(listings, SiteFilter(props.exclude, props.include), props.key_prefix)
    if not entries:
        if props.exclude and any(listing.entries for listing in listings):
            raise PlanError("the site has no files: the Exclude/Include filters left none")
        raise PlanError("the site has no files: every source zip is empty")
    if props.upload_mode == FILES:
        long = next((e.path for e in entries if len(e.path) > FILE_NAME_MAX), None)
        if long is not None:
            raise PlanError(
                f"path {long[:60]!r}... is longer than {FILE_NAME_MAX} characters (FILES mode limit)"
            )
        return Plan(FILES, entries, direct=False)
    # The source object is the site zip only when nothing renames, removes or substitutes a file.
    direct = (
        len(props.sources) == 1
        and not props.sources[0].has_markers
        and listings[0].clean
        and not props.key_prefix
        and len(entries) == len(listings[0].entries)
    )
    return Plan(ZIP, entries, direct=direct)


def estimated_zip_size(plan: Plan, props: DeploymentProps) -> int:
    """Upper-bound-ish size of the merged zip (raw copies keep their compressed size; files with
    markers are counted uncompressed)."""
    total = 22
    for e in plan.entries:
        body = e.size if props.sources[e.source_index].has_markers else e.info.compress_size
        total += body + _ZIP_ENTRY_OVERHEAD + 2 * len(e.path.encode("utf-8"))
    return total


def check_zip_size(size: int, what: str) -> None:
    if size > ZIP_MAX_BYTES:
        raise PlanError(
            f"{what} is {size:,} bytes; a ZIP deployment is at most 5 GB (5,000,000,000 bytes): "
            "use UploadMode FILES"
        )


# FILES mode reads: small files in windows (one ranged GET for many consecutive entries).
SMALL_FILE = 256 * 1024  # compressed and uncompressed at most this: read in a window
WINDOW = 2 * 1024 * 1024  # bytes of the zip one window GET covers at most
_LOCAL_HEADER_GUESS = 30 + 512  # fixed part of a local header + slack for a longer extra field


@dataclass(frozen=True)
class Window:
    """Consecutive small entries of one source zip (sorted by header_offset), read with one GET of
    bytes [entries[0].info.header_offset, end)."""

    source_index: int
    entries: tuple[Entry, ...]
    end: int

    @property
    def span(self) -> int:
        return self.end - self.entries[0].info.header_offset


def entry_extent(info: zipfile.ZipInfo) -> int:
    """Where an entry's compressed data ends at the latest, from its central-directory record: the
    local header is guessed generously (both names, the central extra field and 512 bytes of slack)."""
    name = len(info.orig_filename.encode("utf-8", "surrogateescape"))
    return info.header_offset + _LOCAL_HEADER_GUESS + 2 * name + len(info.extra) + info.compress_size


def is_small(info: zipfile.ZipInfo, small: int = SMALL_FILE) -> bool:
    return (
        info.compress_size <= small
        and info.file_size <= small
        and info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    )


def group_reads(
    entries: Iterable[Entry], small: int = SMALL_FILE, window: int = WINDOW
) -> tuple[list[Window], list[Entry]]:
    """(windows, singles): small entries grouped per source in zip order into windows that span at
    most `window` bytes (a window always holds at least one entry); every other entry is a single
    (read as a stream). Every entry is in exactly one of the two."""
    by_source: dict[int, list[Entry]] = {}
    singles: list[Entry] = []
    for e in entries:
        if is_small(e.info, small):
            by_source.setdefault(e.source_index, []).append(e)
        else:
            singles.append(e)
    windows: list[Window] = []
    for index in sorted(by_source):
        current: list[Entry] = []
        for e in sorted(by_source[index], key=lambda e: e.info.header_offset):
            end = entry_extent(e.info)
            if current and end - current[0].info.header_offset > window:
                windows.append(Window(index, tuple(current), entry_extent(current[-1].info)))
                current = []
            current.append(e)
        if current:
            windows.append(Window(index, tuple(current), entry_extent(current[-1].info)))
    return windows, singles
