"""Runs a CDK app (argv[1]) with cdk-nag's AwsSolutions pack added before it synthesizes."""

import runpy
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

_synth = cdk.App.synth


def synth_with_nag(self, *args, **kwargs):
    cdk.Validations.of(self).add_plugins(AwsSolutionsChecks(self))
    return _synth(self, *args, **kwargs)


cdk.App.synth = synth_with_nag
runpy.run_path(sys.argv[1], run_name="__main__")
