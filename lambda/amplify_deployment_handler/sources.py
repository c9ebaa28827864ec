"""The source zips of one deployment: where each is, its size and markers, its listing, and the
final bytes (inflated, marker-substituted) of one of its entries, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import plan as planning
from .markers import substitute
from .props import DeploymentProps
from .s3io import entry_chunks, head_size, open_zip


@dataclass
class Source:
    bucket: str
    key: str
    size: int
    markers: tuple[tuple[bytes, bytes], ...]


def read_sources(s3: Any, props: DeploymentProps) -> tuple[list[Source], list[planning.SourceListing]]:
    """HeadObject each source and list its zip's central directory (no file contents are read)."""
    sources: list[Source] = []
    listings: list[planning.SourceListing] = []
    for i, s in enumerate(props.sources):
        size = head_size(s3, s.bucket, s.key)
        with open_zip(s3, s.bucket, s.key, size) as zf:
            listings.append(planning.list_source(zf.infolist(), i, f"Sources[{i}]"))
        sources.append(Source(s.bucket, s.key, size, s.markers))
    return sources, listings


def content(s3: Any, src: Source, entry: planning.Entry) -> Iterator[bytes]:
    """The entry's final bytes: one ranged GET, inflated, CRC-checked, markers substituted."""
    return substitute(entry_chunks(s3, src.bucket, src.key, entry.info, src.size), src.markers)
