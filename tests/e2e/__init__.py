"""End-to-end tests: the construct, the handler and the sandbox together, through the local stack driver."""
