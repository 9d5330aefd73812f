"""Helpers shared by the tests: real processes, real ports."""
