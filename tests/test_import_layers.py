"""The layer contract ([tool.importlinter] in pyproject.toml, drawn in docs/architecture.md) holds, and it
does catch an upward import: a copy of the packages with such imports added breaks it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("detectors", "forensics", "privacy", "provenance", "webapp")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)


def python_only(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "__pycache__" or not (n.endswith(".py") or os.path.isdir(os.path.join(folder, n)))]


def test_the_packages_keep_the_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "provenance" / "upward.py").write_text("from forensics.models import Analysis\n")
    (tmp_path / "detectors" / "uses_django.py").write_text("from django.conf import settings\n")
    # the console's exception is the two serializer modules, not the whole API
    (tmp_path / "webapp" / "ui" / "api_view.py").write_text("from webapp.api.views import ReportDownload\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 2 broken." in result.stdout
    assert "provenance is not allowed to import forensics" in result.stdout
    assert "provenance.upward -> forensics.models" in result.stdout
    assert "webapp.ui is not allowed to import webapp.api" in result.stdout
    assert "webapp.ui.api_view -> webapp.api.views" in result.stdout
    assert "detectors is not allowed to import django" in result.stdout
    assert "detectors.uses_django -> django" in result.stdout
