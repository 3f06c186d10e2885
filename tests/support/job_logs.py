"""What a job that raised leaves in the log: one record from ``webapp.job_lifecycle.fail``, with the traceback."""
from __future__ import annotations

import logging
from typing import Any

import pytest


def raised_record(caplog: pytest.LogCaptureFixture, job: Any) -> logging.LogRecord:
    """The one ``job raised`` record for ``job`` (refreshed from the database first), checked for the traceback and
    the fields an operator searches by. ``caplog``: pytest's, with nothing loaded first: a
    process's first task lookup leaves Django's logging config, and so caplog's handler, as it is (``task_named``)."""
    job.refresh_from_db()
    records = [r for r in caplog.records
               if r.name == "webapp.job_lifecycle" and r.getMessage() == "job raised" and getattr(r, "job", None) == str(job.pk)]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    [record] = records
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[1] is not None
    assert (record.kind, record.attempt) == (type(job).__name__, job.attempts)
    assert isinstance(record.stage, str) and record.stage
    return record
