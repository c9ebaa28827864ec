"""The machine a run is made on, recorded in its results file (bench/report.py describes it from there).

`cores` is what the kernel reports, `usable_cores` what this process may run on (its CPU affinity,
e.g. a container's cpuset); the load averages at the start and the end of the run show whether
other work shared the machine meanwhile.
"""

from __future__ import annotations

import os
import platform
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def describe() -> dict[str, Any]:
    import boto3
    import botocore
    import moto

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem / (1 << 30), 1),
        "system": platform.system(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "moto": moto.__version__,
        "load_average_start": load_average(),
    }
