"""Child process: run the handler once, as Lambda would, and report what it cost.

Usage: python bench/runner.py  (reads {"lambda_env", "event", "context"} as JSON on stdin)

Started by bench/harness.py with the handler's folder on PYTHONPATH and the handler's settings in
the environment (AMPLIFY_DEPLOYMENT_*), as a user sets them on the function. Loads the sandbox's
`lambda_env.py` by its path (this process does not import the sandbox package) to rebuild the
Lambda context, imports `amplify_deployment_handler.index`, calls `handler(event, context)` and
prints one JSON line on stdout:
  {"import_s", "wall_s", "phases": {...}, "phase_hwm_mib": {...}, "proc_io": {...}, "vm_hwm_kib",
   "opened_for_writing"}
(`phases`: seconds from the call to each stage line; `phase_hwm_mib`: the peak RSS so far then)
`proc_io` is this process's own /proc/self/io, read after the handler returned (write_bytes = bytes
this process caused to be written to storage); `opened_for_writing` lists the files it opened for
writing (an audit hook on the `open` event). Log lines go to stderr with their epoch time, so the
parent can split the wall time into stages.
"""

import importlib.util
import json
import logging
import os
import sys
import time

from procstats import proc_io, vm_hwm_kib


def load_lambda_env(path):
    spec = importlib.util.spec_from_file_location("lambda_env", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Stages(logging.Handler):
    """Records the time of the handler's stage log lines (see docs/handler.md, Logs)."""

    MARKS = (  # substrings of the handler's JSON stage lines
        ("plan", '"stage":"plan"'),
        ("prepared", '"stage":"prepare"'),  # FILES md5 pass / merged zip done
        ("created", '"action":"created"'),
        ("uploaded", '"stage":"upload","done":true'),
        ("starting", '"action":"starting"'),  # PULL: just before StartDeployment with the sourceUrl
        ("started", '"action":"started"'),
        ("succeeded", '"status":"SUCCEED"'),
        ("result", '"stage":"result"'),
    )

    def __init__(self):
        super().__init__(logging.INFO)
        self.times = {}
        self.hwm_mib = {}  # the peak RSS so far (VmHWM) when each stage was reached

    def emit(self, record):
        msg = record.getMessage()
        for name, needle in self.MARKS:
            if needle in msg and name not in self.times:
                self.times[name] = record.created
                self.hwm_mib[name] = round(vm_hwm_kib() / 1024, 1)


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
    context = load_lambda_env(spec["lambda_env"]).LambdaContext.from_dict(spec["context"])
    sys.addaudithook(audit)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(created).3f %(levelname)s %(name)s: %(message)s"
    )
    stages = Stages()
    logging.getLogger().addHandler(stages)
    t0 = time.perf_counter()
    import amplify_deployment_handler.index as index  # noqa: E402

    import_s = time.perf_counter() - t0
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
                "phase_hwm_mib": stages.hwm_mib,
                "proc_io": proc_io(),
                "vm_hwm_kib": vm_hwm_kib(),
                "opened_for_writing": opened_for_writing,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
