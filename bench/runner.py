"""Child process: run the handler once, as Lambda would, and report what it cost.

Usage: python bench/runner.py  (reads {"lambda_dir", "event", "timeout_s"} as JSON on stdin)

Imports `amplify_deployment_handler.index` from lambda_dir (crhelper from the environment), calls
`handler(event, context)` with a Lambda-like context, and prints one JSON line on stdout:
  {"import_s", "wall_s", "phases": {...}, "proc_io": {...}, "vm_hwm_kib"}
`proc_io` is this process's own /proc/self/io, read after the handler returned (write_bytes = bytes
this process caused to be written to storage); `opened_for_writing` lists the files it opened for
writing (an audit hook on the `open` event). Log lines go to stderr with their epoch time, so the
parent can split the wall time into stages.
"""

import json
import logging
import os
import sys
import time

from procstats import proc_io, vm_hwm_kib


class Context:
    function_name = "bench-amplify-deployment"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-amplify-deployment"
    memory_limit_in_mb = 1024
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def __init__(self, timeout_s):
        self._deadline = time.time() + timeout_s

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


class Stages(logging.Handler):
    """Records the time of the handler's stage log lines (see docs/handler.md, Logs)."""

    MARKS = (  # substrings of the handler's JSON stage lines
        ("plan", '"stage":"plan"'),
        ("created", '"action":"created"'),
        ("uploaded", '"stage":"upload","done":true'),
        ("started", '"action":"started"'),
        ("result", '"stage":"result"'),
    )

    def __init__(self):
        super().__init__(logging.INFO)
        self.times = {}

    def emit(self, record):
        msg = record.getMessage()
        for name, needle in self.MARKS:
            if needle in msg and name not in self.times:
                self.times[name] = record.created


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
opened_for_writing = []


def audit(event, args):
    """Every file this process opens for writing (builtins.open, io.open, os.open, tempfile...)."""
    if event == "open" and len(args) >= 3:
        path, mode, flags = args[0], args[1], args[2]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writes and len(opened_for_writing) < 20:
            opened_for_writing.append(str(path))


def main():
    spec = json.loads(sys.stdin.read())
    sys.addaudithook(audit)
    sys.path.insert(0, spec["lambda_dir"])
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(created).3f %(levelname)s %(name)s: %(message)s"
    )
    stages = Stages()
    logging.getLogger().addHandler(stages)
    t0 = time.perf_counter()
    import amplify_deployment_handler.index as index  # noqa: E402

    import_s = time.perf_counter() - t0
    if spec.get("chunk"):  # what-if: the ZIP stream read and sent in bigger pieces than 256 KiB
        from amplify_deployment_handler import s3io, upload

        s3io.CHUNK = upload.CHUNK_SEND = int(spec["chunk"])  # both are read at call time
    context = Context(spec.get("timeout_s", 900))
    start_epoch = time.time()
    t1 = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):  # investigations only: cProfile of the main thread
        import cProfile

        cProfile.runctx(
            "index.handler(spec['event'], context)", globals(), locals(), os.environ["BENCH_PROFILE"]
        )
    else:
        index.handler(spec["event"], context)
    wall_s = time.perf_counter() - t1
    phases = {k: round(v - start_epoch, 4) for k, v in stages.times.items()}
    print(
        json.dumps(
            {
                "import_s": import_s,
                "wall_s": wall_s,
                "phases": phases,
                "proc_io": proc_io(),
                "vm_hwm_kib": vm_hwm_kib(),
                "opened_for_writing": opened_for_writing,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
