"""Test helpers for scisync and for users' own test suites (pytest fixtures)."""
