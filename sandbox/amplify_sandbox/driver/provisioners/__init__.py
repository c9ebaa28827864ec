"""One provisioner per kind of resource, and the registry that maps a resource type to its provisioner.

Adding a resource type the driver provisions: a module with a :class:`~.base.Provisioner` subclass
(its ``types``, ``create`` / ``update`` / ``delete`` / ``revert``) and one line in ``PROVISIONERS``.
"""

from __future__ import annotations

from amplify_sandbox.driver.provisioners.amplify import AmplifyAppProvisioner, AmplifyBranchProvisioner
from amplify_sandbox.driver.provisioners.amplify_domain import AmplifyDomainProvisioner
from amplify_sandbox.driver.provisioners.base import Provisioner
from amplify_sandbox.driver.provisioners.custom_resource import CustomResourceProvisioner
from amplify_sandbox.driver.provisioners.lambda_function import LambdaFunctionProvisioner
from amplify_sandbox.driver.provisioners.moto_backed import MotoProvisioner
from amplify_sandbox.driver.provisioners.passive import PassiveProvisioner
from amplify_sandbox.driver.provisioners.placeholder import PlaceholderProvisioner
from amplify_sandbox.driver.provisioners.secrets import SecretProvisioner

#: the registry: the first provisioner that handles a resource type provisions it
PROVISIONERS: tuple[Provisioner, ...] = (
    PassiveProvisioner(),
    LambdaFunctionProvisioner(),
    AmplifyAppProvisioner(),
    AmplifyBranchProvisioner(),
    AmplifyDomainProvisioner(),
    CustomResourceProvisioner(),
    SecretProvisioner(),
    MotoProvisioner(),  # the types moto has a CloudFormation model for (moto_backed.is_moto_backed)
    PlaceholderProvisioner(),  # every other type: documented placeholder values (last: a catch-all)
)


def provisioner_for(resource_type: str) -> Provisioner | None:
    """The provisioner of ``resource_type``, or None: a type the local driver does not support."""
    for provisioner in PROVISIONERS:
        if provisioner.handles(resource_type):
            return provisioner
    return None


def kind(resource_type: str) -> str:
    """ "custom", "amplify", "lambda", "passive", "moto", "placeholder" or "unsupported" (no type left
    unhandled but a custom resource type that is not one, e.g. an empty type)."""
    provisioner = provisioner_for(resource_type)
    return provisioner.kind if provisioner is not None else "unsupported"


__all__ = ["PROVISIONERS", "Provisioner", "kind", "provisioner_for"]
