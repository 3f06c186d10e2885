"""Loaded by a test worker (``worker_settings.CELERY_IMPORTS``): report exports stop at a gate while rendering, so a
test can kill the worker in the middle of one. Inert unless FORENSICS_TEST_EXPORT_GATE_DIR is set."""
from __future__ import annotations

import os
import time
from pathlib import Path

from webapp.reporting import exports

_export_report = exports.export_report


def _gated_export_report(*args, **kwargs):  # type: ignore[no-untyped-def]
    gate = Path(os.environ["FORENSICS_TEST_EXPORT_GATE_DIR"])
    (gate / f"started-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not (gate / "open").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return _export_report(*args, **kwargs)


if os.environ.get("FORENSICS_TEST_EXPORT_GATE_DIR"):
    exports.export_report = _gated_export_report
