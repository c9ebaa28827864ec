"""Fixtures of the reliability tests.

- `site`: an Amplify app + branch in the emulator and a bucket in moto, with ways to invoke the
  handler in-process (`site.invoke`, Lambda's calling convention, response read from a local HTTPS
  ResponseURL receiver) - the same shape as tests/handler's fixture, built on its helpers.
- `s3_faults` / `amplify_faults`: a FaultProxy (fault_proxy.py) in front of moto S3 / the emulator's
  API, already wired into the handler's environment (AWS_ENDPOINT_URL_S3 / _AMPLIFY).
- `fast_uploads`: the handler's upload retry policy with short pauses (attempts and timeouts unchanged
  in shape; only the waits shrink), for cases where an upload keeps failing.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for p in (REPO / "lambda", REPO / "tests" / "handler", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from fault_proxy import FaultProxy  # noqa: E402
from reliability_support import assert_reason  # noqa: E402,F401
from site_harness import Site, new_site  # noqa: E402

from amplify_sandbox.driver.receiver import ResponseReceiver  # noqa: E402


@pytest.fixture
def site(sandbox: Any, receiver: ResponseReceiver, handler_env: Callable[..., None]) -> Site:
    return new_site(sandbox, receiver, app_name="reliability", branch="main", bucket="cdk-assets-reliability")


@pytest.fixture
def s3_faults(sandbox: Any, handler_env: Callable[..., None]) -> Iterator[FaultProxy]:
    proxy = FaultProxy(sandbox.s3_endpoint)
    handler_env(AWS_ENDPOINT_URL_S3=proxy.endpoint)
    yield proxy
    proxy.close()


@pytest.fixture
def amplify_faults(sandbox: Any, handler_env: Callable[..., None]) -> Iterator[FaultProxy]:
    proxy = FaultProxy(sandbox.amplify_endpoint)
    handler_env(AWS_ENDPOINT_URL_AMPLIFY=proxy.endpoint)
    yield proxy
    proxy.close()


@pytest.fixture
def fast_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    from amplify_deployment_handler import index
    from amplify_deployment_handler.upload import UploadPolicy

    real = index.settings_from_env
    fast = UploadPolicy(attempts=3, timeout=2.0, backoff_base=0.05, backoff_max=0.1)
    monkeypatch.setattr(index, "settings_from_env", lambda: dataclasses.replace(real(), upload=fast))


@pytest.fixture
def fast_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retries wait rand(0,1) x 1 s x 2^i on throttling (15 s on average over
    its 5 attempts); scale that to 20 ms so throttling tests stay fast. The handler's own backoff
    loop (1 s .. 15 s) is unchanged."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)


@pytest.fixture(scope="session")
def lambda_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from lambda_process import LambdaHost, asset_dir

    base = tmp_path_factory.mktemp("lambda")
    with ResponseReceiver(base / "tls") as receiver:
        yield LambdaHost(base, receiver, asset_dir(base))
