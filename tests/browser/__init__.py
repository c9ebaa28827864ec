"""Tests in a real browser (headless Chromium from the OS packages, driven by Selenium)."""
