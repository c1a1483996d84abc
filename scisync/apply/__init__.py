"""Executing a plan: ordering, parallel transfers, journal, resume, progress events."""
