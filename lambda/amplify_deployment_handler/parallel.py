"""Run one piece of work per item on a thread pool; the first error stops the rest."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from .deadline import Deadline
from .upload import UploadError

T = TypeVar("T")


def run_parallel(
    items: Sequence[T],
    work: Callable[[T, threading.Event], None],
    workers: int,
    deadline: Deadline,
    stage: str,
) -> None:
    """Run work(item, abort) on a thread pool; the first error sets abort, cancels the rest and is
    raised. An item not yet begun when the deadline has passed fails with UploadError naming `stage`."""
    abort = threading.Event()

    def run(item: T) -> None:
        if abort.is_set():
            return
        if deadline.expired():
            raise UploadError(f"{stage} did not finish before the deadline")
        work(item, abort)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        futures: list[Future[None]] = [pool.submit(run, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception()), None)
        if failed is not None:
            abort.set()
            for f in futures:
                f.cancel()
            exc = failed.exception()
            assert exc is not None
            raise exc
