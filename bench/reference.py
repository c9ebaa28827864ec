"""Child process: the common approach, as a reference (what aws-s3-deployment's handler does, adapted
to Amplify): download every source zip to local disk, extract them into one folder (later source
wins), substitute markers by rewriting the files, then
  ZIP:   zip the folder again (shutil.make_archive: deflate) and PUT that file to the zipUploadUrl;
  FILES: md5 every file, CreateDeployment with the fileMap, PUT every file (`workers` threads).
Then StartDeployment and wait for the job. Everything happens under spec["tmp_dir"], which the parent
samples for its peak size.
"""

import hashlib
import json
import os
import shutil
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

from childlib import amplify_client, put, read_spec, report, s3_client, start_and_wait


def file_pieces(path, piece=1 << 20):
    with open(path, "rb") as f:
        while chunk := f.read(piece):
            yield chunk


def json_escape(value):
    return json.dumps(value)[1:-1]


def main():
    spec = read_spec()
    tmp = spec["tmp_dir"]
    amplify, s3 = amplify_client(), s3_client()
    app, branch = spec["app_id"], spec["branch"]
    t0 = time.perf_counter()
    site = os.path.join(tmp, "site")
    os.makedirs(site, exist_ok=True)
    for i, src in enumerate(spec["sources"]):
        archive = os.path.join(tmp, f"source-{i}.zip")
        s3.download_file(src["BucketName"], src["ObjectKey"], archive)
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            zf.extractall(site)
        markers = src.get("Markers") or {}
        if markers:
            escape = (src.get("MarkersConfig") or {}).get("JsonEscape") == "true"
            pairs = [(k.encode(), (json_escape(v) if escape else v).encode()) for k, v in markers.items()]
            for n in names:
                path = os.path.join(site, n)
                with open(path, "rb") as f:
                    data = f.read()
                new = data
                for k, v in pairs:
                    new = new.replace(k, v)
                if new != data:
                    with open(path, "wb") as f:
                        f.write(new)
        os.unlink(archive)
    files = []
    for root, _, fs in os.walk(site):
        for name in fs:
            full = os.path.join(root, name)
            files.append((os.path.relpath(full, site), full))
    if spec["mode"] == "ZIP":
        base = os.path.join(tmp, "upload")
        archive = shutil.make_archive(base, "zip", site)
        created = amplify.create_deployment(appId=app, branchName=branch)
        size = os.path.getsize(archive)
        put(created["zipUploadUrl"], file_pieces(archive), size)
    else:

        def md5(item):
            h = hashlib.md5()
            for chunk in file_pieces(item[1]):
                h.update(chunk)
            return item[0], h.hexdigest()

        with ThreadPoolExecutor(max_workers=spec["workers"]) as pool:
            file_map = dict(pool.map(md5, files))
        created = amplify.create_deployment(appId=app, branchName=branch, fileMap=file_map)
        urls = created["fileUploadUrls"]

        def upload(item):
            put(urls[item[0]], file_pieces(item[1]), os.path.getsize(item[1]))

        with ThreadPoolExecutor(max_workers=spec["workers"]) as pool:
            list(pool.map(upload, files))
    start_and_wait(amplify, app, branch, created["jobId"], interval=0.5)
    wall_s = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    report({"wall_s": wall_s, "files": len(files)})


if __name__ == "__main__":
    main()
