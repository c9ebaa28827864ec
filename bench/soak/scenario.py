"""What a soak run deploys, drawn from a seed (pure: no server, no clock).

A run is a list of :class:`Step`: one deployment each, to one of two branches, in one of the three
upload modes, of a whole site (path -> size and content seed, so that a step means the same site when
earlier steps are dropped by the shrinker), with the faults to arm before it and the function's
timeout. Sites evolve from one step of a branch to the next: files change, are added and removed.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

BRANCHES = ("main", "feature/soak")
MODES = ("ZIP", "FILES", "PULL")
#: the paths a site may hold (the checks fetch every one of them after each deployment)
PATHS = (
    "index.html",
    "about.html",
    "404.html",
    "css/site.css",
    "js/app.js",
    "js/vendor/lib.min.js",
    "img/logo.bin",
    "img/photo.bin",
    "docs/read me.txt",
    "docs/\u00e9t\u00e9.html",
    "deep/a/b/c/d/e/leaf.txt",
    "empty.txt",
    "data/blob.bin",
)
#: function timeouts (s): short, so that some deployments run into their deadline
TIMEOUTS = (5, 6, 8, 12)

#: every fault kind the soak arms, and what it is (docs/reliability.md lists them with these names)
FAULT_KINDS = {
    "upload_500": "knob fail_next_uploads: the next N upload PUTs answer HTTP 500",
    "upload_drop": "knob drop_next_uploads: the next N upload connections are dropped mid-body",
    "upload_stall": "knob stall_next_uploads (stall_seconds): the next N uploads hang, then close",
    "upload_url_expired": "knob upload_url_expiry=0: the upload URLs are expired when handed out",
    "api_throttle": "knob throttle_next_api_calls (TooManyRequests or LimitExceeded), armed before the "
    "handler's k-th Amplify call",
    "api_stall": "knob stall_next_api_calls (stall_seconds), armed before the handler's k-th Amplify call",
    "api_latency": "knob latency: every API call and upload answers late (0.03 to 0.1 s: at most a "
    "tenth of the handler's grace, as a 0.3 s answer is of a 60 s function's)",
    "lost_create_deployment": "knob lose_next_create_deployment (lost_answer_as 500 or reset)",
    "lost_start_deployment": "knob lose_next_start_deployment (lost_answer_as 500 or reset)",
    "lost_stop_job": "knob lose_next_stop_job (lost_answer_as 500 or reset)",
    "lost_get_job": "knob lose_next_get_job (lost_answer_as 500 or reset)",
    "job_failed": "knob fail_next_jobs: the job ends FAILED",
    "job_slow": "knob job_duration: the job runs 1 to 20 s (beyond the deadline at times)",
    "quota_refused": "another app's job holds the only slot (max_concurrent_jobs=1), "
    "over_limit_start=refused: StartDeployment answers LimitExceeded",
    "quota_queued": "the same with over_limit_start=queued: the started job waits PENDING for the slot",
    "unstarted_created": "knob unstarted_status=CREATED: never-started jobs show as CREATED",
    "start_time_at_creation": "knob job_start_time=at_creation: a job's startTime never moves",
    "other_job_running": "another client's deployment runs on the branch (0.5 to 20 s)",
    "other_job_unstarted": "another client's job created on the branch and never started",
    "s3_read_cut": "the proxy in front of moto cuts a GET of the sources mid-body (once, twice, or always)",
}


@dataclass
class Step:
    branch: str
    mode: str
    #: path -> [size, content seed]
    site: dict[str, list[int]]
    #: ZIP/FILES: the site split over two source zips (the second wins where both have a path)
    split: bool
    #: the function's timeout (s)
    timeout: int
    #: AMPLIFY_DEPLOYMENT_FUNCTION_TIMEOUT: when a never-started job counts as abandoned (s)
    abandoned_after: int
    #: kind -> parameters
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Step:
        return Step(**data)

    def describe(self) -> str:
        faults = ", ".join(f"{k}{_params(v)}" for k, v in self.faults.items()) or "no fault"
        return (
            f"{self.mode} to {self.branch} ({len(self.site)} files{', 2 sources' if self.split else ''}, "
            f"timeout {self.timeout} s): {faults}"
        )


def _params(p: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in p.items()) + ")" if p else ""


def content(path: str, size: int, seed: int) -> bytes:
    """The bytes of one file: text for .html/.css/.js/.txt (compressible), random otherwise."""
    rng = random.Random(f"{path}:{seed}")
    if path.endswith((".html", ".css", ".js", ".txt")):
        words = [f"{path} v{seed} "] + [
            rng.choice(("soak ", "amplify ", "<p>", "lorem ", "\u00e9 ", "\n")) for _ in range(size)
        ]
        return "".join(words).encode()[:size] if size else b""
    return rng.randbytes(size)


def _size(rng: random.Random, path: str) -> int:
    if path == "empty.txt":
        return 0
    if path.endswith(".bin") and rng.random() < 0.3:
        return rng.randint(256 * 1024, 3 * 1024 * 1024)  # big enough to stream, to be cut mid-read
    return rng.randint(1, 6000)


def _new_site(rng: random.Random) -> dict[str, list[int]]:
    paths = ["index.html"] + rng.sample(PATHS[1:], rng.randint(1, 6))
    return {p: [_size(rng, p), rng.randint(0, 10**6)] for p in paths}


def _update(rng: random.Random, site: dict[str, list[int]]) -> dict[str, list[int]]:
    """Change, add and remove files (at least one change; never an empty site)."""
    new = {p: list(v) for p, v in site.items()}
    for p in list(new):
        r = rng.random()
        if r < 0.3:
            new[p] = [_size(rng, p), rng.randint(0, 10**6)]
        elif r < 0.45 and len(new) > 1:
            del new[p]
    for p in rng.sample(PATHS, rng.randint(0, 3)):
        if p not in new:
            new[p] = [_size(rng, p), rng.randint(0, 10**6)]
    if new == site:
        p = rng.choice(list(new))
        new[p] = [_size(rng, p), rng.randint(0, 10**6)]
    return new


def _faults(rng: random.Random, mode: str) -> dict[str, dict[str, Any]]:
    """A random combination of faults: none (1 in 8), else 1 to 4 kinds, each with its parameters."""
    if rng.random() < 0.125:
        return {}
    kinds = [k for k in FAULT_KINDS if not (mode == "PULL" and k.startswith("upload_"))]
    chosen = rng.sample(kinds, rng.choice((1, 1, 2, 2, 3, 4)))
    out: dict[str, dict[str, Any]] = {}
    lost_as = rng.choice(("500", "reset"))
    for kind in chosen:
        if kind in ("upload_500", "upload_drop"):
            out[kind] = {"n": rng.choice((1, 1, 2, 3, 50))}
        elif kind == "upload_stall":
            out[kind] = {"n": rng.choice((1, 1, 2, 50)), "seconds": rng.choice((1, 2, 3, 30))}
        elif kind == "api_throttle":
            out[kind] = {
                "n": rng.choice((1, 2, 3, 5, 6, 8)),
                "code": rng.choice(("TooManyRequestsException", "LimitExceededException")),
                "at_call": rng.randint(1, 8),
            }
        elif kind == "api_stall":
            out[kind] = {
                "n": rng.choice((1, 1, 2)),
                "seconds": rng.choice((1, 2, 3, 30)),
                "at_call": rng.randint(1, 8),
            }
        elif kind == "api_latency":
            # at most a tenth of the handler's grace (1 s in these short functions): a 60 s function,
            # the shortest the construct allows, has a 3 s grace, a tenth of which is an answer of
            # 0.3 s, Amplify's slow end. Slower, the grace holds fewer tries than any real function
            # gets (docs/reliability.md, "Randomized soak": the final-2 and final-3 runs)
            out[kind] = {"seconds": rng.choice((0.03, 0.05, 0.1))}
        elif kind.startswith("lost_"):
            out[kind] = {"n": rng.choice((1, 1, 2, 3)), "as": lost_as}
        elif kind == "job_slow":
            out[kind] = {"seconds": rng.choice((1, 2, 4, 8, 20))}
        elif kind in ("quota_refused", "quota_queued"):
            out[kind] = {"held_for": rng.choice((0.5, 1, 3, 6, 30))}
            if "quota_refused" in out and "quota_queued" in out:
                del out[kind]
        elif kind == "other_job_running":
            out[kind] = {"seconds": rng.choice((0.5, 1, 3, 6, 20))}
        elif kind == "other_job_unstarted":
            out[kind] = {"age": rng.choice(("young", "old"))}
        elif kind == "s3_read_cut":
            out[kind] = {
                "skip": rng.randint(0, 4),
                "times": rng.choice((1, 1, 2, 1000)),
                "after": rng.choice((100, 4096, 65536)),
            }
        else:
            out[kind] = {}
    if "other_job_running" in out and "other_job_unstarted" in out:
        del out["other_job_unstarted"]
    return out


def draw(seed: str, count: int) -> list[Step]:
    """``count`` deployments drawn from ``seed``."""
    rng = random.Random(f"soak:{seed}")
    sites: dict[str, dict[str, list[int]]] = {}
    steps: list[Step] = []
    branches = BRANCHES if rng.random() < 0.7 else BRANCHES[:1]
    for _ in range(count):
        branch = rng.choice(branches)
        site = _update(rng, sites[branch]) if branch in sites else _new_site(rng)
        sites[branch] = site
        mode = rng.choice(MODES)
        timeout = rng.choice(TIMEOUTS)
        steps.append(
            Step(
                branch=branch,
                mode=mode,
                site=site,
                split=mode != "PULL" and len(site) > 1 and rng.random() < 0.3,
                timeout=timeout,
                abandoned_after=rng.choice((1, timeout)),
                faults=_faults(rng, mode),
            )
        )
    return steps


def dumps(steps: list[Step]) -> str:
    return json.dumps([s.to_json() for s in steps], indent=1, ensure_ascii=False)


def loads(text: str) -> list[Step]:
    return [Step.from_json(d) for d in json.loads(text)]
