"""The PostgreSQL + Redis pass runs every test that can touch a backend and leaves out the ones that cannot."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.backend_pass import BACKENDS_PASS, ENV

REPO = Path(__file__).resolve().parents[1]
DATABASE_TESTS = "tests/privacy/test_ledger.py"      # every test there uses the database
PURE_TESTS = "tests/privacy/test_accounting.py"      # arithmetic on privacy budgets: no database, no queue
QUEUE_TESTS = "tests/webapp/test_celery_wiring.py"   # names Celery: kept whatever its fixtures


def _collected(tmp_path: Path, backends_pass: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["FORENSICS_VAR_DIR"] = str(tmp_path)
    if backends_pass:
        env[ENV] = BACKENDS_PASS
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", DATABASE_TESTS, PURE_TESTS,
                          QUEUE_TESTS], cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout
    return [line.split("::")[0] for line in out.splitlines() if "::" in line]


def test_the_backends_pass_keeps_database_and_queue_tests_and_drops_pure_ones(tmp_path):
    everything, backends = _collected(tmp_path, False), _collected(tmp_path, True)
    assert PURE_TESTS in everything and PURE_TESTS not in backends
    for path in (DATABASE_TESTS, QUEUE_TESTS):
        assert everything.count(path) == backends.count(path) > 0
