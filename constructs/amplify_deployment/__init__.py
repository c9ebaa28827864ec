"""Deploy a static site to AWS Amplify Hosting as part of a CDK stack.

```python
from amplify_deployment import AmplifyDeployment, UploadMode

AmplifyDeployment(self, "Site", app=app, branch=branch, sources=[Source.asset("site")])
```
"""

from amplify_deployment.branch_ids import branch_construct_id
from amplify_deployment.custom_rules import CustomRule
from amplify_deployment.deployment import (
    AmplifyDeployment,
    UploadMode,
    branch_url_for,
)
from amplify_deployment.domains import SiteDomain
from amplify_deployment.static_site import AmplifyStaticSite

# The one version number: pyproject.toml reads it from here (setuptools dynamic version).
__version__ = "0.1.0"

__all__ = [
    "__version__",
    "AmplifyDeployment",
    "AmplifyStaticSite",
    "CustomRule",
    "SiteDomain",
    "UploadMode",
    "branch_construct_id",
    "branch_url_for",
]
