"""The Lambda handler of cdk-amplify-deployment: `amplify_deployment_handler.index.handler`."""
