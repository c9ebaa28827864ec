"""Helpers shared by the benchmark's child processes (baseline.py, reference.py): stdlib + boto3."""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit

from procstats import proc_io, vm_hwm_kib


def report(result):
    result["proc_io"] = proc_io()
    result["vm_hwm_kib"] = vm_hwm_kib()
    print(json.dumps(result), flush=True)


def read_spec():
    return json.loads(sys.stdin.read())


_local = threading.local()


def put(url, body, length):
    """PUT an iterable of bytes (or bytes) with Content-Length on a keep-alive connection per thread."""
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    key = (parts.hostname, parts.port)
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(key)
    if conn is None:
        conn = conns[key] = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=120, blocksize=1 << 20
        )
    conn.request("PUT", target, body=body, headers={"Content-Length": str(length)})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"PUT answered {resp.status}: {data[:200]!r}")
    if resp.will_close:
        conn.close()
        del conns[key]


def amplify_client():
    import boto3

    return boto3.client("amplify")


def s3_client(pool=20):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(max_pool_connections=pool))


def start_and_wait(amplify, app_id, branch, job_id, interval=0.1):
    amplify.start_deployment(appId=app_id, branchName=branch, jobId=job_id)
    while True:
        status = amplify.get_job(appId=app_id, branchName=branch, jobId=job_id)["job"]["summary"]["status"]
        if status == "SUCCEED":
            return
        if status in ("FAILED", "CANCELLED"):
            raise RuntimeError(f"job {job_id} {status}")
        time.sleep(interval)
