"""Watermark tests need no Django: neutralise the root conftest's autouse settings fixture.

This lets the folder run with ``pytest -p no:django`` (no ``settings`` fixture then).
"""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _test_plugins() -> None:
    """Override of tests/conftest.py's fixture of the same name: nothing to configure here."""


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections() -> None:
    """Override of the root conftest's database clean-up: these tests open no connections."""
