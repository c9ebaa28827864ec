"""A call that may not outlive the invocation: run it in a worker thread and wait at most so long.

botocore bounds a call only by its own settings (up to 5 attempts, each up to its connect and read
timeouts, with throttling backoff of up to 15 s in between): far more than the seconds kept back at
the end of an invocation for StopJob and the answer to CloudFormation. A call still running when its
time is up is left to its daemon thread (its answer, if one ever comes, is dropped) and reported as
:class:`CallTimedOut`, so that the handler stops its job and answers in time itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class CallTimedOut(Exception):
    """The call was made and did not finish within its time (it may yet take effect)."""


class NoTimeLeft(Exception):
    """No time was left: the call was not made."""


def call_within(call: Callable[[], T], seconds: float, name: str = "amplify-call") -> T:
    """``call()``'s result or exception; CallTimedOut after ``seconds``; NoTimeLeft when ``seconds``
    is not positive (the call is not made)."""
    if seconds <= 0:
        raise NoTimeLeft(f"no time left for {name}")
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise CallTimedOut(f"{name} took more than {seconds:.1f} s")
    if "error" in box:
        raise box["error"]
    result: T = box["value"]
    return result
