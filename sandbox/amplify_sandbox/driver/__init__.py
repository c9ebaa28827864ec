"""The local stack driver: a small local CloudFormation for CDK apps (see docs/driver.md).

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack

with Sandbox(state_dir=app_dir / ".amplify-sandbox" / "emulator") as sb:
    result = LocalStack(app_dir, sb).deploy()   # synth, assets, resources, custom resources
    result.ok, result.outputs, result.stacks[0].status
    LocalStack(app_dir, sb).destroy()
"""

from amplify_sandbox.driver.resolver import ResolveError
from amplify_sandbox.driver.stack import (
    CustomResourceRequest,
    DeployResult,
    DriverError,
    LocalStack,
    ResourceEvent,
    StackResult,
    copy_app,
)
from amplify_sandbox.driver.synth import SynthError

__all__ = [
    "CustomResourceRequest",
    "DeployResult",
    "DriverError",
    "LocalStack",
    "ResolveError",
    "ResourceEvent",
    "StackResult",
    "SynthError",
    "copy_app",
]
