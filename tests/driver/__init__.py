"""Tests of the local stack driver."""
