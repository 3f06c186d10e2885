"""Fixtures for the privacy app's Django tests (tests/privacy/conftest.py and tests/webapp import them)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.privacy_data import make_labelled_zip

N_REAL = N_FAKE = 12  # 24 images: 18 train, 6 holdout


@pytest.fixture(scope="session")
def dataset_zip(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """One small labelled zip for the whole session (the generators take ~15 s on 2 cores)."""
    return make_labelled_zip(tmp_path_factory.mktemp("privacy") / "faces.zip", N_REAL, N_FAKE, seed=7)


@pytest.fixture
def clean_ledger(transactional_db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Transactional tests end with a table flush, which on SQLite is a DELETE that the ledger's append-only
    trigger refuses; empty the ledger first, through the one sanctioned switch. (PostgreSQL flushes with
    TRUNCATE, which the row trigger does not see.)"""
    yield
    from django.db import connection

    from privacy.db_triggers import TABLE, UNIT_TABLE, ledger_maintenance

    if connection.vendor == "sqlite":
        with ledger_maintenance(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {UNIT_TABLE}")
            cursor.execute(f"DELETE FROM {TABLE}")


def upload_dataset(actor, path: Path, *, epsilon_total: float = 8.0,  # type: ignore[no-untyped-def]
                   name: str = "faces"):
    from forensics.ingest.storage import read_chunks
    from privacy.dataset_store import create_dataset

    return create_dataset(actor, read_chunks(path), name, epsilon_total=epsilon_total, delta=1e-5)
