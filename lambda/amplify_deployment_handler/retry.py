"""Backoff between retries: the one definition the upload and Amplify adapters share."""

from __future__ import annotations

import random


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff for the attempt-th retry (1-based)."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1))) + base / 2
