"""Reliability, bad input and security (issue 5): see docs/reliability.md."""
