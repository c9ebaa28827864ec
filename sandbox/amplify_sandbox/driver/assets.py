"""Publish a stack's file assets to S3 as ``cdk deploy`` does (cdk-assets), and unpack code assets.

A directory asset (packaging ``zip``) is uploaded as a zip holding the directory's files at its root;
the zip is deterministic (sorted entries, fixed 1980-01-01 timestamps, modes kept), so the same folder
always gives the same bytes. A ``file`` asset is uploaded as it is. Like cdk-assets, an object that is
already in the bucket is not uploaded again.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from amplify_sandbox.driver.synth import FileAsset

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class AssetError(Exception):
    pass


def substitute_placeholders(text: str, account: str, region: str, partition: str = "aws") -> str:
    return (
        text.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", partition)
    )


def iter_files(root: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of every file under ``root``, sorted, following symlinks."""
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            found.append((path.relative_to(root).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


def zip_directory(root: Path, out: io.BufferedIOBase | io.BytesIO | Any) -> int:
    """Write a deterministic zip of ``root``'s files (at the zip's root) to ``out``; return the count."""
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in iter_files(root):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = path.stat().st_mode & 0o777
            info.external_attr = ((0o100000 | (mode or 0o644)) & 0xFFFF) << 16
            info.create_system = 3
            with path.open("rb") as src, archive.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            count += 1
    return count


def publish_assets(
    assets: list[FileAsset],
    s3: Any,
    *,
    account: str,
    region: str,
    work_dir: Path,
    log: Callable[[str], None] = print,
    keep_dir: Path | None = None,
) -> dict[tuple[str, str], FileAsset]:
    """Upload every asset to its destination(s); create the bootstrap bucket(s) as needed.

    Returns ``{(bucket, key): asset}`` with the placeholders substituted, so the driver can map a
    Lambda function's ``Code.S3Bucket``/``S3Key`` back to the asset folder in the cloud assembly.
    ``keep_dir``: also keep each object's bytes at ``keep_dir/<bucket>/<key>`` (the driver puts them
    back into S3 after a restart of the in-memory moto server).
    """
    published: dict[tuple[str, str], FileAsset] = {}
    buckets_ready: set[str] = set()
    work_dir.mkdir(parents=True, exist_ok=True)
    for asset in assets:
        if not asset.path.exists():
            raise AssetError(f"asset {asset.display_name} ({asset.id}): {asset.path} does not exist")
        for raw_bucket, raw_key in asset.destinations:
            bucket = substitute_placeholders(raw_bucket, account, region)
            key = substitute_placeholders(raw_key, account, region)
            published[(bucket, key)] = asset
            if bucket not in buckets_ready:
                _ensure_bucket(s3, bucket, region)
                buckets_ready.add(bucket)
            kept = keep_dir / bucket / key if keep_dir is not None else None
            if _exists(s3, bucket, key):
                log(f"assets: {asset.display_name}: s3://{bucket}/{key} (already published)")
                if kept is not None and not kept.exists():
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, key, str(kept))
                continue
            if asset.packaging == "zip":
                if not asset.path.is_dir():
                    raise AssetError(f"asset {asset.display_name}: {asset.path} is not a directory")
                zip_path = work_dir / f"{asset.id}.zip"
                with zip_path.open("wb") as out:
                    count = zip_directory(asset.path, out)
                s3.upload_file(str(zip_path), bucket, key)
                if kept is not None:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(zip_path, kept)
                else:
                    zip_path.unlink()
                log(f"assets: {asset.display_name}: s3://{bucket}/{key} (zip of {count} files)")
            elif asset.packaging == "file":
                s3.upload_file(str(asset.path), bucket, key)
                if kept is not None:
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(asset.path, kept)
                log(f"assets: {asset.display_name}: s3://{bucket}/{key} (file)")
            else:
                raise AssetError(
                    f"asset {asset.display_name}: packaging {asset.packaging!r} is not supported"
                )
    return published


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except Exception:  # noqa: S110 - absent: create it below
        pass
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception:
        return False


def unpack_code(asset: FileAsset, dest: Path) -> Path:
    """Put a Lambda code asset's files in ``dest`` (a folder asset is copied; a zip file extracted)."""
    if dest.exists():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    if asset.path.is_dir():
        shutil.copytree(asset.path, tmp, symlinks=False)
    elif zipfile.is_zipfile(asset.path):
        with zipfile.ZipFile(asset.path) as archive:
            archive.extractall(tmp)
    else:
        raise AssetError(
            f"asset {asset.display_name}: {asset.path} is neither a folder nor a zip; "
            "a Lambda function's code must be one of them"
        )
    tmp.rename(dest)
    return dest


def write_inline_code(code: str, dest: Path, runtime: str) -> Path:
    """``Code.ZipFile``: Lambda writes inline Python code to index.py."""
    dest.mkdir(parents=True, exist_ok=True)
    name = "index.py" if runtime.startswith("python") else "index.js"
    (dest / name).write_text(code)
    return dest


def bucket_key_lookup(
    published: Mapping[tuple[str, str], FileAsset], bucket: Any, key: Any
) -> FileAsset | None:
    if isinstance(bucket, str) and isinstance(key, str):
        return published.get((bucket, key))
    return None
