"""The Lambda runtime stand-in, run as a script: ``python -I -S lambda_bootstrap.py``.

Stdlib only. Reads one invocation (JSON) from stdin: ``{"code_dir", "deps_dir", "handler", "event",
"context", "lambda_env"}``; builds ``sys.path = [code_dir, deps_dir] + stdlib`` (no site-packages:
like Lambda, only boto3/botocore and what the code asset bundles can be imported); installs a root
log handler in Lambda's text format; calls the handler with the event and the context
(``LambdaContext.from_dict(context)`` of ``amplify_sandbox/lambda_env.py``, loaded from its path
``lambda_env``: the package itself is not importable here).

Exit status: 0 when the handler returned, 1 when it raised, 2 when it could not be imported
(Runtime.ImportModuleError / Runtime.HandlerNotFound), as Lambda reports them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
import time
import traceback
from types import ModuleType
from typing import Any


def _load_by_path(name: str, path: str) -> ModuleType:
    """A stdlib-only module of the sandbox package (lambda_env), loaded from its file: the package
    itself is not importable here."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _RequestIdFilter(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _setup_logging(request_id: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter(request_id))
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())


def _error(kind: str, message: str, exc: BaseException | None = None) -> None:
    stack = traceback.format_exception(type(exc), exc, exc.__traceback__) if exc is not None else []
    print(f"[ERROR] {kind}: {message}", flush=True)
    print(json.dumps({"errorMessage": message, "errorType": kind, "stackTrace": stack}), flush=True)


def main() -> int:
    invocation: dict[str, Any] = json.loads(sys.stdin.read())
    sys.stdin.close()
    stdlib = [p for p in sys.path if p]
    sys.path[:] = [invocation["code_dir"], invocation["deps_dir"]] + stdlib
    os.chdir(invocation["code_dir"])
    request_id = invocation["context"]["aws_request_id"]
    _setup_logging(request_id)

    handler_name = invocation["handler"]
    module_name, _, function_name = handler_name.rpartition(".")
    module_name = module_name.replace("/", ".")
    if not module_name:
        _error("Runtime.MalformedHandlerName", f"Bad handler '{handler_name}': not enough values to unpack")
        return 2
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}", exc)
        return 2
    except Exception as exc:
        _error(
            "Runtime.UserCodeSyntaxError" if isinstance(exc, SyntaxError) else type(exc).__name__,
            f"Unable to import module '{module_name}': {exc}",
            exc,
        )
        return 2
    handler = getattr(module, function_name, None)
    if handler is None:
        _error("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
        return 2

    lambda_env = _load_by_path("_amplify_sandbox_lambda_env", invocation["lambda_env"])
    context = lambda_env.LambdaContext.from_dict(invocation["context"])
    try:
        handler(invocation["event"], context)
    except Exception as exc:
        _error(type(exc).__name__, str(exc), exc)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # like a frozen Lambda sandbox: leftover threads (timers) do not keep it alive
