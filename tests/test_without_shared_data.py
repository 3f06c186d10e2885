"""A clone without ../shared: the tests that need its photos skip and say why; none errors or fails."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# One test per way the privacy tests reach the photos: a session fixture (dataset_zip), a module fixture
# (labelled_splits in test_training), and a direct call (make_labelled_zip).
DATA_DEPENDENT = [
    "tests/privacy/test_datasets.py::test_good_zip_gives_labelled_images_and_a_stratified_split",
    "tests/privacy/test_mia.py",
    "tests/privacy/test_training.py",
    "tests/webapp/test_privacy_api.py::test_budget_needs_an_admin",
]


def test_privacy_helpers_skip_with_the_reason(tmp_path, monkeypatch) -> None:
    from tests.support import privacy_data

    monkeypatch.setattr(privacy_data, "REAL_FACES", tmp_path / "missing" / "images")
    with pytest.raises(pytest.skip.Exception, match="real photos not available: .*missing/images holds 0"):
        privacy_data.make_labelled_zip(tmp_path / "x.zip", 2, 2)


def test_data_dependent_tests_skip_when_the_datasets_are_absent(tmp_path) -> None:
    env = {**os.environ, "FORENSICS_TEST_DATASETS": str(tmp_path / "no-shared"),
           "FORENSICS_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)  # the embedded default: this checks skipping, not a database
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *DATA_DEPENDENT],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    tail = run.stdout[-3000:]
    assert run.returncode == 0, tail
    assert " error" not in tail and " failed" not in tail, tail
    assert "skipped" in tail and "real photos not available" in tail and "no-shared" in tail, tail
