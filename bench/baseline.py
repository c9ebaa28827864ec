"""Child process: the raw baselines, through the same two servers as the handler.

kind "zip_stream": CreateDeployment (zip), then the stream (`stream_s`): one GetObject of the source
  zip, its body read in 1 MiB pieces and written straight into one PUT to the zipUploadUrl
  (http.client, Content-Length); then StartDeployment and waiting for SUCCEED (polled every 0.1 s).
  `wall_s` = `total_s` = CreateDeployment .. SUCCEED, the same span as the handler's work.
kind "files_put": the site's files are read into memory from the local copy of the zip and their
  md5s computed *before* timing (nothing is read from S3); the timed part is CreateDeployment with
  the fileMap, the same PUTs of the same bodies on `workers` threads, StartDeployment and waiting
  for the job; `puts_s` is the PUTs alone.
"""

import hashlib
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

from childlib import amplify_client, put, read_spec, report, s3_client, start_and_wait

PIECE = 1 << 20


def zip_stream(spec):
    amplify, s3 = amplify_client(), s3_client()
    app, branch = spec["app_id"], spec["branch"]
    created = amplify.create_deployment(appId=app, branchName=branch)
    t0 = time.perf_counter()
    obj = s3.get_object(Bucket=spec["bucket"], Key=spec["key"])
    size = int(obj["ContentLength"])
    body = obj["Body"]

    def pieces():
        while chunk := body.read(PIECE):
            yield chunk

    put(created["zipUploadUrl"], pieces(), size)
    stream_s = time.perf_counter() - t0
    start_and_wait(amplify, app, branch, created["jobId"])
    total_s = time.perf_counter() - t0
    return {"stream_s": stream_s, "wall_s": total_s, "total_s": total_s, "bytes": size}


def files_put(spec):
    amplify = amplify_client()
    app, branch = spec["app_id"], spec["branch"]
    with zipfile.ZipFile(spec["zip_path"]) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        if spec.get("limit"):
            names = names[: spec["limit"]]
        bodies = {n: zf.read(n) for n in names}
    file_map = {n: hashlib.md5(b).hexdigest() for n, b in bodies.items()}
    t0 = time.perf_counter()
    created = amplify.create_deployment(appId=app, branchName=branch, fileMap=file_map)
    urls = created["fileUploadUrls"]
    t1 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["workers"]) as pool:
        list(pool.map(lambda n: put(urls[n], bodies[n], len(bodies[n])), names))
    puts_s = time.perf_counter() - t1
    start_and_wait(amplify, app, branch, created["jobId"])
    wall_s = time.perf_counter() - t0
    return {"puts_s": puts_s, "wall_s": wall_s, "files": len(names), "bytes": sum(map(len, bodies.values()))}


def main():
    spec = read_spec()
    result = {"zip_stream": zip_stream, "files_put": files_put}[spec["kind"]](spec)
    report(result)


if __name__ == "__main__":
    main()
