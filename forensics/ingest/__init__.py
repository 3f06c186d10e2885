"""Ingest: sniff the real type from bytes, enforce limits, store content-addressed.

Nothing is written to the database until a file has passed every check, so a
refused upload leaves no half-created rows behind.
"""
