"""The WSGI entry point gunicorn loads (docker-compose.yml's web service)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_worker_loads_the_url_table_and_views_at_boot_not_on_its_first_request(tmp_path) -> None:
    """Importing webapp.wsgi (what a gunicorn worker does at boot) already imports the URL table and the views
    behind it, so no request pays for that."""
    probe = ("import sys, webapp.wsgi; "
             "print(','.join(m for m in ('webapp.urls', 'webapp.api.views', 'torch') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "FORENSICS_VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1:] == ["webapp.urls,webapp.api.views,torch"]
