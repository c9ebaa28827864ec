"""What a deployment changes: the files it adds, changes and removes compared with the previous
deployment's site (pure: works on the sources' central-directory listings).

A site's files are the merge of its sources under its filters and prefix (`plan.merge`), each
described by what the central directory says of it (size, CRC-32) and the deploy-time values of its
source. Compared with the previous site (the previous properties' sources, listed the same way):

- added: a path the previous site did not have; removed: a path the new site does not have;
- changed: a path both have whose size or CRC-32 differs, or whose source's deploy-time values
  (markers) differ: the central directory cannot tell which files of such a source hold a marker,
  so every file of a source whose values changed counts as changed (a `Source.data` or
  `Source.json_data` source is one file).

On Create every file is added. When the previous site cannot be read, there are no counts and the
outcome says why (`NotCounted`). The `changes` log line names at most `SAMPLE` paths of each kind;
the response's `Data` holds the counts only (CloudFormation's response is at most 4096 bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import plan as planning
from .logs import mask_urls
from .props import DeploymentProps
from .site_paths import SiteFilter

SAMPLE = 5  # paths of each kind named in the log line
_PATH_SHOWN = 120  # characters of one path in the log line

#: the keys of the counts in the response's Data ("" when not counted)
DATA_KEYS = ("FilesAdded", "FilesChanged", "FilesRemoved")


@dataclass(frozen=True)
class FileState:
    """One file of a site as its central directory describes it, with its source's deploy-time
    values (sorted (marker, value) pairs; () for a source without markers)."""

    size: int
    crc: int
    markers: tuple[tuple[bytes, bytes], ...] = ()


SiteFiles = Mapping[str, FileState]


def files_of(props: DeploymentProps, entries: Sequence[planning.Entry]) -> dict[str, FileState]:
    """The site's files from its merged entries (`plan.Plan.entries` or `plan.merge`)."""
    markers = [tuple(sorted(s.markers)) for s in props.sources]
    return {e.path: FileState(e.info.file_size, e.info.CRC, markers[e.source_index]) for e in entries}


def site_files(props: DeploymentProps, listings: Sequence[planning.SourceListing]) -> dict[str, FileState]:
    """The files of the site `props` describe, from its sources' listings: merged in order, under
    its Exclude/Include filters and its prefix, as the deployment merges them."""
    entries = planning.merge(listings, SiteFilter(props.exclude, props.include), props.key_prefix)
    return files_of(props, entries)


@dataclass(frozen=True)
class Changes:
    """The paths (sorted) a deployment adds, changes and removes."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass(frozen=True)
class NotCounted:
    """No counts: why (one phrase, e.g. the previous site's object cannot be read)."""

    why: str


Outcome = Changes | NotCounted


def compare(old: SiteFiles, new: SiteFiles) -> Changes:
    """What deploying `new` over `old` changes."""
    added = sorted(p for p in new if p not in old)
    removed = sorted(p for p in old if p not in new)
    changed = sorted(p for p in new if p in old and old[p] != new[p])
    return Changes(tuple(added), tuple(changed), tuple(removed))


def _shown(paths: Sequence[str], sample: int) -> list[str]:
    return [mask_urls(p if len(p) <= _PATH_SHOWN else p[: _PATH_SHOWN - 3] + "...") for p in paths[:sample]]


def log_fields(outcome: Outcome, sample: int = SAMPLE) -> dict[str, Any]:
    """The fields of the `changes` log line: the counts and the first `sample` paths of each kind,
    or `counted: false` and why."""
    if isinstance(outcome, NotCounted):
        return {"counted": False, "why": outcome.why}
    fields: dict[str, Any] = {
        "added": len(outcome.added),
        "changed": len(outcome.changed),
        "removed": len(outcome.removed),
    }
    for kind, paths in (("added", outcome.added), ("changed", outcome.changed), ("removed", outcome.removed)):
        if paths:
            fields[f"{kind}_paths"] = _shown(paths, sample)
    return fields


def response_data(outcome: Outcome) -> dict[str, str]:
    """`FilesAdded`, `FilesChanged`, `FilesRemoved` for the response's Data: counts as strings, or
    "" each when not counted (the log line says why)."""
    if isinstance(outcome, NotCounted):
        return dict.fromkeys(DATA_KEYS, "")
    counts = (len(outcome.added), len(outcome.changed), len(outcome.removed))
    return {key: str(n) for key, n in zip(DATA_KEYS, counts, strict=True)}


def short_summary(added: int, changed: int, removed: int) -> str:
    """`+3 ~2 -1`, or `unchanged` when nothing changed (the sandbox's Site lines)."""
    if not (added or changed or removed):
        return "unchanged"
    return f"+{added} ~{changed} -{removed}"
