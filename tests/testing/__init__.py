"""Tests of the provider emulators (lockgate.testing)."""
