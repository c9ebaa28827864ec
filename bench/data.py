"""Test sites, generated fast and deterministically (written as zips on local disk, then put to S3).

- `big_site_zip`: an index.html plus `size` bytes in 1 MiB files, STORED (like images and video,
  the bytes do not compress). Each file is a unique 32-byte header followed by a slice of one 1 MiB
  random block, so every file (and its md5) differs while generation costs one os.urandom call.
- `small_files_zip`: n small text-like files (1-8 KiB, random hex: deflates about 2:1), DEFLATED,
  spread over folders, plus index.html. The first k files of a site are the site made with the same
  seed and n = k (the generator draws file by file), so a "first 500 of the 5,000" site is
  `small_files_zip(path, 500, seed=5000)`.
- `config_zip`, `app_zip`: the deploy-time sources of the "several sources" workloads (see
  bench/workloads.py), with their markers in `CONFIG_MARKERS` and `APP_MARKERS`.
"""

from __future__ import annotations

import random
import zipfile

MiB = 1 << 20
_DATE = (2024, 1, 1, 0, 0, 0)


def _info(name: str, compress: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=_DATE)
    zi.compress_type = compress
    zi.external_attr = 0o644 << 16
    return zi


def big_site_zip(path: str, size: int, seed: int = 1) -> int:
    """A zip of about `size` bytes of content; returns the number of files."""
    rng = random.Random(seed)
    block = rng.randbytes(MiB)
    view = memoryview(block)
    n = max(1, size // MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(_info("index.html", zipfile.ZIP_DEFLATED), b"<!doctype html><title>bench</title>\n")
        for i in range(n):
            with zf.open(_info(f"media/{i // 100:03d}/blob-{i:05d}.bin", zipfile.ZIP_STORED), "w") as w:
                w.write(f"{seed:08d}-{i:08d}-bench-header\n".encode()[:32].ljust(32, b"."))
                w.write(view[32:])
    return n + 1


def small_files_zip(path: str, n: int, seed: int = 2) -> int:
    rng = random.Random(seed)
    text = rng.randbytes(64 * 1024).hex().encode()  # 128 KiB of hex text
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_info("index.html", zipfile.ZIP_DEFLATED), b"<!doctype html><title>bench</title>\n")
        for i in range(n - 1):
            size = rng.randint(1024, 8192)
            off = rng.randrange(0, len(text) - size)
            body = f"/* {seed} {i} */\n".encode() + text[off : off + size]
            zf.writestr(_info(f"static/{i % 50:02d}/chunk-{i:05d}.js", zipfile.ZIP_DEFLATED), body)
    return n


CONFIG_MARKERS = {
    "<<marker:0xbaba:0>>": "https://api.example.com/prod",
    "<<marker:0xbaba:1>>": 'us-east-1_"bench"',
}
APP_MARKERS = {"<<marker:0xbaba:0>>": "https://api.example.com/prod"}


def config_zip(path: str) -> int:
    """config.json made only of markers (like Source.json_data; deployed with JsonEscape)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            _info("config.json", zipfile.ZIP_DEFLATED),
            b'{"apiUrl": "<<marker:0xbaba:0>>", "userPoolId": "<<marker:0xbaba:1>>", "stage": "bench"}\n',
        )
    return 1


def app_zip(path: str, n_app_files: int = 200, seed: int = 3) -> int:
    """An app bundle: index.html (overriding the big site's) + JS files, every fourth with a marker."""
    rng = random.Random(seed)
    text = rng.randbytes(64 * 1024).hex().encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            _info("index.html", zipfile.ZIP_DEFLATED),
            b'<!doctype html><title>bench</title><script src="/app/main.js"></script>'
            b"<!-- <<marker:0xbaba:0>> -->\n",
        )
        for i in range(n_app_files):
            size = rng.randint(8 * 1024, 64 * 1024)
            off = rng.randrange(0, len(text) - size)
            mid = size // 2
            body = (
                text[off : off + mid]
                + (b"<<marker:0xbaba:0>>" if i % 4 == 0 else b"")
                + text[off + mid : off + size]
            )
            zf.writestr(_info(f"app/chunk-{i:04d}.js", zipfile.ZIP_DEFLATED), body)
    return n_app_files + 1
