"""The reporting layer: signed period and per-item reports (JSON, CSV, PDF) and their export jobs.

It reads every layer below it (forensics, privacy, the provenance primitives, accounts) and changes
nothing but its own exports; only the API and the console sit above it (docs/architecture.md).
"""
