"""Helpers shared by the tests: lab credentials, lab and acmerun processes, secret scans.

Tests import from here, never from a conftest.
"""
