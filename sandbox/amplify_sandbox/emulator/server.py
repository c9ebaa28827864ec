"""The API server (Amplify API, upload URLs, admin endpoints on one port) and :class:`AmplifyEmulator`,
which starts it, owns the backend and starts one site server per branch on demand.

A request goes: :class:`ApiHandler` -> urls.py's route -> responses.py / uploads.py / admin.py ->
models.py. The handler applies the per-request fault knobs (latency, stall, throttle) first. Imports
go one way: this module imports the others, none of them imports it (tests/emulator/test_layers.py).
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import admin, responses, uploads, urls
from .clock import Clock
from .domain_site import DomainSiteServer
from .exceptions import InternalFailureException
from .faults import Refuse, Stall, Throttle
from .httpd import QuietHandler, Response, Server, log, stop_servers
from .knobs import Knobs
from .models import AmplifyBackend
from .ports import PortBook
from .site import SiteServer


def unknown_operation(method: str, path: str) -> Response:
    """A request that is no operation of the model (every operation has a route): API Gateway's
    answer, with a request id as every answer has."""
    resp = responses.json_response(404, {"message": f"Unknown operation: {method} {path[:100]}"})
    resp.headers["x-amzn-ErrorType"] = "UnknownOperationException"
    return resp


class ApiServer(Server):
    def __init__(self, port: int, emulator: AmplifyEmulator) -> None:
        self.emulator = emulator
        super().__init__(port, ApiHandler)


class ApiHandler(QuietHandler):
    """The Amplify API, the presigned upload URLs and the /_sandbox admin endpoints."""

    server: ApiServer

    def wait_or_stall(self, fault: object) -> bool:
        """Apply the latency knob, then an injected stall: True when the request was stalled and hung up."""
        emulator = self.server.emulator
        latency = emulator.backend.faults.latency()
        if latency:
            time.sleep(latency)
        if isinstance(fault, Stall):
            emulator.stop_event.wait(fault.seconds)
            self.hang_up()
            return True
        return False

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith(urls.ADMIN_PREFIX):
            request = admin.AdminRequest(self.command, path, parts.query, self.read_body())
            function = urls.match_admin(self.command, path)
            self.send(admin.answer(self.server.emulator, function, request))
            return
        if path.startswith(urls.UPLOAD_PREFIX):
            uploads.handle_put(self, self.server.emulator.backend, self.wait_or_stall, path, parts.query)
            return
        raw = self.read_body()
        found = urls.match(self.command, path)
        if found is None:
            self.send(unknown_operation(self.command, path))
            return
        route, params = found
        backend = self.server.emulator.backend
        fault = backend.faults.api_call(route.operation)
        if self.wait_or_stall(fault):
            return
        if isinstance(fault, Throttle | Refuse):
            self.send(responses.error_response(fault.error))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            resp = responses.dispatch(
                backend, route.operation, route.function, params, parts.query, headers, raw
            )
        except Exception as exc:  # a bug of the emulator: answer like the service would, and say so
            log.exception("the Amplify emulator failed on %s", route.operation)
            resp = responses.error_response(
                InternalFailureException(f"Emulator error in {route.operation}: {type(exc).__name__}: {exc}")
            )
        lost = backend.faults.answer_lost(route.operation)
        if lost == "reset":  # carried out, then the connection closes without an answer
            self.hang_up()
            return
        if lost:
            resp = responses.error_response(
                InternalFailureException(
                    "We encountered an internal error. Please try again. (injected: the call was carried "
                    "out and its answer lost)"
                )
            )
        self.send(resp)

    do_GET = do_POST = do_DELETE = do_PUT = _dispatch  # noqa: N815


class AmplifyEmulator:
    """A local Amplify Hosting on 127.0.0.1 that boto3 talks to over HTTP.

    ``port=0`` picks a free port. ``state_dir``: persist the whole state (apps, branches, jobs, live
    content, uploads) there, for a later emulator on the same folder; None keeps it in a temporary
    folder removed by :meth:`stop`. ``clock``: a callable returning epoch seconds (tests pass a
    :class:`~amplify_sandbox.emulator.clock.FakeClock`).
    """

    def __init__(
        self, port: int = 0, state_dir: str | Path | None = None, clock: Clock | None = None
    ) -> None:
        self._port = port
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="amplify-emulator-")
            store, persist = Path(self._tmp.name), False
        else:
            store, persist = Path(state_dir), True
            store.mkdir(parents=True, exist_ok=True)
        self.backend = AmplifyBackend(store, persist=persist, clock=clock)
        self.stop_event = threading.Event()
        self._server: ApiServer | None = None
        self._sites: dict[tuple[str, str], SiteServer] = {}
        self._sites_lock = threading.Lock()
        self.backend.on_branches_removed = self._stop_sites
        #: the site servers of apps' custom domains (domain_site.py), by app id
        self._domain_sites: dict[str, DomainSiteServer] = {}
        self.backend.on_domains_removed = self._stop_domain_sites
        #: the ports the site servers had (ports.py): kept with the state when it persists
        self._ports = PortBook(store / "site-ports.json" if persist else None)

    # -------------------------------------------------------------- lifecycle
    def start(self) -> AmplifyEmulator:
        if self._server is None:
            self.stop_event.clear()
            self._server = ApiServer(self._port, self)
            self.backend.public_url = self.endpoint
            self._server.serve_in_thread("amplify-emulator")
        return self

    def stop(self) -> None:
        self.stop_event.set()
        stop_servers([*self._take_sites(), *([self._server] if self._server else [])])
        self._server = None
        self.backend.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> AmplifyEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- API
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.port

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: the value for AWS_ENDPOINT_URL_AMPLIFY."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def knobs(self) -> Knobs:
        """The live knobs; set fields directly (``emulator.knobs.job_duration = 1``) or use set_knobs."""
        return self.backend.knobs

    def set_knobs(self, **values: Any) -> dict[str, Any]:
        return self.backend.set_knobs(**values)

    @property
    def counters(self) -> dict[str, Any]:
        return self.backend.faults.counters_dict()

    def reset(self) -> None:
        """Forget all apps, branches, jobs, uploads and sites; knobs and counters to defaults."""
        self.stop_event.set()  # wake stalled requests
        stop_servers(self._take_sites())
        self.backend.reset()
        self.stop_event.clear()

    def _take_sites(self, keys: list[tuple[str, str]] | None = None) -> list[SiteServer]:
        """Remove the site servers of ``keys`` (all when None) from the table; the caller stops them."""
        with self._sites_lock:
            if keys is None:
                sites: list[SiteServer] = [*self._sites.values(), *self._domain_sites.values()]
                self._sites, self._domain_sites = {}, {}
                return sites
            return [srv for key in keys if (srv := self._sites.pop(key, None)) is not None]

    def _stop_sites(self, removed: list[tuple[str, str]]) -> None:
        """Stop the site servers of branches that DeleteBranch/DeleteApp removed."""
        stop_servers(self._take_sites(removed))

    def site_url(self, app_id: str, branch_name: str) -> str:
        """``http://127.0.0.1:PORT/``: the branch's live site, on its own port (started on first use)."""
        if not self.backend.has_branch(app_id, branch_name):
            raise KeyError(f"no branch {branch_name!r} in app {app_id!r}")
        with self._sites_lock:
            srv = self._sites.get((app_id, branch_name))
            if srv is None:
                srv = self._ports.serve(
                    f"branch {app_id} {branch_name}",
                    lambda port: SiteServer(self.backend, app_id, branch_name, port),
                )
                srv.serve_in_thread(f"amplify-site-{app_id}")
                self._sites[(app_id, branch_name)] = srv
        return f"http://127.0.0.1:{srv.port}/"

    def domain_urls(self, app_id: str) -> list[tuple[str, str, str]]:
        """``(host, branch name, http://<host>.localhost:PORT/)`` of every host of the app's custom
        domains, served by one server for the app (started on first use, on its remembered port)."""
        if not self.backend.app_hosts(app_id):
            return []
        with self._sites_lock:
            srv = self._domain_sites.get(app_id)
            if srv is None:
                srv = self._ports.serve(
                    f"domains {app_id}", lambda port: DomainSiteServer(self.backend, app_id, port)
                )
                srv.serve_in_thread(f"amplify-domains-{app_id}")
                self._domain_sites[app_id] = srv
        return srv.urls()

    def _stop_domain_sites(self, removed: list[tuple[str, str]]) -> None:
        """Stop the domain server of an app left with no domain (DeleteDomainAssociation, DeleteApp)."""
        with self._sites_lock:
            gone = [
                srv
                for app_id in {a for a, _ in removed}
                if not self.backend.app_hosts(app_id)
                and (srv := self._domain_sites.pop(app_id, None)) is not None
            ]
        stop_servers(gone)
