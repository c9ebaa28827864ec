"""StartDeployment with ``sourceUrl``: fetching the deployment's zip from a URL, as Amplify does.

The emulator fetches over plain ``http`` from loopback only (a presigned GET URL of the sandbox's moto
S3, for instance); the model runs the fetch outside its lock while the job shows PROVISIONING.
"""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from urllib.parse import urlsplit

from .content import check_zip
from .exceptions import UploadError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def download_zip(url: str, dest: Path) -> str | None:
    """Fetch a sourceUrl zip to ``dest`` (loopback http only). Returns an error text or None."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        return (
            "The emulator only fetches a sourceUrl over http from 127.0.0.1/localhost; "
            f"could not fetch {parts.scheme}://{parts.hostname}/..."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target)
        resp = conn.getresponse()
        if resp.status != 200:
            return f"Could not download the sourceUrl: HTTP {resp.status} from {parts.hostname}."
        with open(tmp, "wb") as out:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        conn.close()
        check_zip(tmp)
        os.replace(tmp, dest)
        return None
    except UploadError:
        return "The sourceUrl did not return a valid zip file."
    except OSError as exc:
        return f"Could not download the sourceUrl: {type(exc).__name__}."
    finally:
        tmp.unlink(missing_ok=True)
