"""Which tests the PostgreSQL + Redis pass of ``scripts/test.sh`` runs: those that can touch a backend.

The suite runs twice when PostgreSQL and Redis answer: once on them and once on the embedded default. A test
that touches neither the database nor the queue (training a detector, scoring text with the LM, the static
checks) would run the same code twice, and those tests are most of the run's minutes (the two passes took
80 of CI's 90 minutes). With ``FORENSICS_TEST_PASS=backends`` the first pass deselects them; the embedded
pass still runs everything.

"Cannot touch the database" is pytest-django's own guarantee: without a database fixture or the
``django_db`` marker, a query fails ("Database access not allowed"). Queue tests start their worker
through ``worker_factory`` or ``eager_celery``, both of which take ``transactional_db``; a module that
names Redis, the broker or Celery is kept anyway, whatever its fixtures.
"""
from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest

ENV = "FORENSICS_TEST_PASS"
BACKENDS_PASS = "backends"
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences",
                               "django_db_serialized_rollback", "live_server"})
QUEUE_WORDS = re.compile(r"redis|broker|celery", re.IGNORECASE)


@cache
def _module_names_the_queue(path: Path) -> bool:
    return bool(QUEUE_WORDS.search(path.read_text(encoding="utf-8")))


def touches_backends(item: pytest.Item) -> bool:
    """True when ``item`` may use the database or the queue, so it must also run on PostgreSQL + Redis."""
    if item.get_closest_marker("django_db") is not None:
        return True
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    return _module_names_the_queue(Path(item.path))


def select_for_pass(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (pytest prints how many) the backend-free tests when this is the backends pass."""
    if os.environ.get(ENV) != BACKENDS_PASS:
        return
    keep = [item for item in items if touches_backends(item)]
    dropped = [item for item in items if not touches_backends(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
