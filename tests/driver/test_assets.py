"""Asset publishing: deterministic zips with the folder's files at the root; file assets as they are."""

import io
import zipfile

from amplify_sandbox.driver.assets import publish_assets, substitute_placeholders, zip_directory
from amplify_sandbox.driver.synth import FileAsset


def _site(tmp_path):
    root = tmp_path / "site"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>hi</h1>")
    (root / "css" / "a.css").write_text("body{}")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    return root


def test_zip_has_the_files_at_its_root_and_is_deterministic(tmp_path):
    root = _site(tmp_path)
    first, second = io.BytesIO(), io.BytesIO()
    assert zip_directory(root, first) == 3
    (root / "index.html").touch()  # a new mtime must not change the bytes
    zip_directory(root, second)
    assert first.getvalue() == second.getvalue()
    with zipfile.ZipFile(io.BytesIO(first.getvalue())) as archive:
        assert archive.namelist() == ["css/a.css", "index.html", "run.sh"]
        assert archive.read("index.html") == b"<h1>hi</h1>"
        assert (archive.getinfo("run.sh").external_attr >> 16) & 0o777 == 0o755
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_placeholders():
    text = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
    assert (
        substitute_placeholders(text, "111122223333", "eu-west-1")
        == "cdk-hnb659fds-assets-111122223333-eu-west-1"
    )


def test_publish_creates_the_bucket_and_uploads_zip_and_file_assets(sandbox, tmp_path):
    root = _site(tmp_path)
    template = tmp_path / "Stack.template.json"
    template.write_text('{"Resources": {}}')
    bucket = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
    assets = [
        FileAsset("abc", "Site/Asset", root, "zip", [(bucket, "abc.zip")]),
        FileAsset("def", "Stack Template", template, "file", [(bucket, "def.json")]),
    ]
    s3 = sandbox.client("s3")
    lines = []
    published = publish_assets(
        assets, s3, account="123456789012", region="us-east-1", work_dir=tmp_path / "work", log=lines.append
    )
    real_bucket = "cdk-hnb659fds-assets-123456789012-us-east-1"
    assert set(published) == {(real_bucket, "abc.zip"), (real_bucket, "def.json")}
    body = s3.get_object(Bucket=real_bucket, Key="abc.zip")["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert sorted(archive.namelist()) == ["css/a.css", "index.html", "run.sh"]
    assert s3.get_object(Bucket=real_bucket, Key="def.json")["Body"].read() == b'{"Resources": {}}'
    assert any("zip of 3 files" in line for line in lines)

    # a second publish finds the objects and does not upload again
    lines.clear()
    publish_assets(
        assets, s3, account="123456789012", region="us-east-1", work_dir=tmp_path / "work", log=lines.append
    )
    assert all("already published" in line for line in lines) and len(lines) == 2


def test_publish_keeps_a_copy_of_what_it_uploaded(sandbox, tmp_path):
    root = _site(tmp_path)
    bucket = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"
    assets = [FileAsset("abc", "Site/Asset", root, "zip", [(bucket, "abc.zip")])]
    s3 = sandbox.client("s3")
    keep = tmp_path / "keep"
    publish_assets(
        assets,
        s3,
        account="123456789012",
        region="us-east-1",
        work_dir=tmp_path / "work",
        log=lambda _l: None,
        keep_dir=keep,
    )
    real_bucket = "cdk-hnb659fds-assets-123456789012-us-east-1"
    uploaded = s3.get_object(Bucket=real_bucket, Key="abc.zip")["Body"].read()
    assert (keep / real_bucket / "abc.zip").read_bytes() == uploaded
    assert list((tmp_path / "work").iterdir()) == []
