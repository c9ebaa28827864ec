"""Streaming marker substitution (pure), with the semantics of aws-cdk-lib's s3-deployment handler:
each marker, in order, is replaced by its value in the file's bytes (values already json-escaped when
the source's MarkersConfig says so). Works chunk by chunk, so a file is never held whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence


class _Replacer:
    """bytes.replace(token, value) over a stream: keeps back len(token)-1 bytes between chunks."""

    def __init__(self, token: bytes, value: bytes) -> None:
        if not token:
            raise ValueError("empty marker")
        self._token = token
        self._value = value
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        buf = self._carry + data if self._carry else data
        token, n = self._token, len(self._token)
        out: list[bytes] = []
        i = 0
        while True:
            j = buf.find(token, i)
            if j < 0:
                break
            out.append(buf[i:j])
            out.append(self._value)
            i = j + n
        # No complete match starts at or after i; a partial one can only start in the last n-1 bytes.
        cut = max(i, len(buf) - (n - 1))
        out.append(buf[i:cut])
        self._carry = buf[cut:]
        return b"".join(out)

    def flush(self) -> bytes:
        carry, self._carry = self._carry, b""
        return carry


def substitute(chunks: Iterable[bytes], markers: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
    """Yield the chunks with every marker replaced (markers applied one after another, like the
    s3-deployment handler's `line.replace(token, value)` loop)."""
    if not markers:
        yield from chunks
        return
    chain = [_Replacer(token, value) for token, value in markers]
    for chunk in chunks:
        for r in chain:
            chunk = r.feed(chunk)
        if chunk:
            yield chunk
    tail = b""
    for r in chain:
        tail = r.feed(tail) + r.flush()
    if tail:
        yield tail


def substitute_bytes(data: bytes, markers: Sequence[tuple[bytes, bytes]]) -> bytes:
    for token, value in markers:
        data = data.replace(token, value)
    return data
