"""StartDeployment with ``sourceUrl``: fetching the deployment's zip from a URL, as Amplify does.

The emulator fetches over plain ``http`` from loopback only (a presigned GET URL of the sandbox's moto
S3, for instance); the model runs the fetch in a thread of its own, outside its lock, while the job
shows PROVISIONING (StartDeployment has already answered).
"""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from .content import check_zip
from .exceptions import UploadError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: bytes read at a time when the download is paced (small, so a changed pace applies soon)
PACED_CHUNK = 16 * 1024


def download_zip(
    url: str,
    dest: Path,
    pace: Callable[[int], bool] = lambda n: True,
    opened: Callable[[socket.socket], None] = lambda sock: None,
) -> str | None:
    """Fetch a sourceUrl zip to ``dest`` (loopback http only). Returns an error text or None.

    ``pace(n)`` is called after each chunk of ``n`` bytes (it may sleep); False stops the download.
    ``opened(sock)`` is told the socket, so a closing backend can cut a download that hangs.
    """
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
        conn.connect()
        assert conn.sock is not None
        opened(conn.sock)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target)
        resp = conn.getresponse()
        if resp.status != 200:
            return f"Could not download the sourceUrl: HTTP {resp.status} from {parts.hostname}."
        with open(tmp, "wb") as out:
            while chunk := resp.read(PACED_CHUNK):
                out.write(chunk)
                if not pace(len(chunk)):
                    return "The emulator stopped while it downloaded the sourceUrl."
        conn.close()
        check_zip(tmp)
        os.replace(tmp, dest)
        return None
    except UploadError:
        return "The sourceUrl did not return a valid zip file."
    except (OSError, http.client.HTTPException) as exc:
        return f"Could not download the sourceUrl: {type(exc).__name__}."
    finally:
        tmp.unlink(missing_ok=True)
