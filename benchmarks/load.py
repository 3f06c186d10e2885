"""The load run (issue 12): concurrent API clients upload while a real ``celery worker`` process works.

Why a real worker: accept latency and completion throughput only mean something when the web side and the worker
share the database and the broker, as in a deployment. It runs on whatever the settings point at: the embedded
default (SQLite + filesystem broker under ``FORENSICS_VAR_DIR``) unless ``DATABASE_URL`` / ``REDIS_URL`` are set.
The model detectors are off (their speed is the ``detectors`` group's): this measures the service's machinery.

Besides the figures it checks what the hardening issue measured by hand: every accepted upload became exactly one
analysis, every analysis finished, and ``verify_audit`` is green. A failed check raises, so ``make bench`` fails.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client, override_settings
from PIL import Image

from detectors.registry import registered_names
from forensics.models import Analysis
from webapp.accounts.keys import issue_api_key
from webapp.accounts.models import Tenant

REPO = Path(__file__).resolve().parents[1]
Row = tuple[str, float, str, str]


def run(uploads: int = 120, clients: int = 6, timeout_s: float = 90.0) -> list[Row]:
    """Upload ``uploads`` distinct JPEGs from ``clients`` threads, wait for the worker to finish them all."""
    disabled = registered_names()
    tenant = Tenant.objects.create(slug=f"bench-load-{os.getpid()}-{time.time_ns()}", name="Bench load")
    key = issue_api_key(tenant, "bench-load").plaintext
    images = [_jpeg(seed) for seed in range(uploads)]
    with override_settings(FORENSICS_DISABLED_DETECTORS=disabled), _worker(disabled):
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            accepted = list(pool.map(lambda pair: _upload(key, *pair), enumerate(images)))
        accept_s = time.perf_counter() - started
        ids = [analysis_id for analysis_id, _ in accepted]
        _wait_until_finished(ids, deadline=time.monotonic() + timeout_s)
        total_s = time.perf_counter() - started
    _check_exactly_one_analysis_per_upload(tenant, ids)
    call_command("verify_audit", tenant=tenant.slug, stdout=io.StringIO())  # exits 1 (SystemExit) if broken
    latencies = np.array([seconds for _, seconds in accepted]) * 1000
    backends = f"{connection.vendor}, {settings.CELERY_BROKER_URL.split(':', 1)[0]} broker"
    return [
        ("load: accept latency p50", float(np.percentile(latencies, 50)), "ms",
         f"{uploads} uploads from {clients} clients, POST /api/v1/analyses, {backends}"),
        ("load: accept latency p95", float(np.percentile(latencies, 95)), "ms", "in-process client, no network"),
        ("load: accepted", uploads / accept_s, "uploads/s", f"all {uploads} answered 202"),
        ("load: completed", uploads / total_s, "analyses/s",
         "first upload to last done, one worker (--pool solo), model detectors off"),
        ("load: exactly one analysis per upload", float(len(ids)), "analyses",
         "every one done; verify_audit green"),
    ]


def _jpeg(seed: int, size: int = 256) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _upload(key: str, index: int, data: bytes) -> tuple[str, float]:
    """One client's upload: (analysis id, seconds to the 202). Each thread closes its own database connection."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    started = time.perf_counter()
    try:
        response = client.post("/api/v1/analyses", {"file": SimpleUploadedFile(f"load-{index}.jpg", data)})
    finally:
        connections.close_all()
    seconds = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"upload {index} answered {response.status_code}: {response.content[:300]!r}")
    return response.json()["id"], seconds


def _wait_until_finished(ids: list[str], deadline: float) -> None:
    while Analysis.objects.filter(pk__in=ids, state__in=("done", "failed")).count() < len(ids):
        if time.monotonic() > deadline:
            states = sorted(Analysis.objects.filter(pk__in=ids).values_list("state", flat=True))
            raise RuntimeError(f"the worker did not finish every analysis in time: {states}")
        time.sleep(0.2)


def _check_exactly_one_analysis_per_upload(tenant: Tenant, ids: list[str]) -> None:
    analyses = Analysis.objects.filter(tenant=tenant)
    states = sorted(set(analyses.values_list("state", flat=True)))
    problems = []
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} uploads shared an analysis id")
    if analyses.count() != len(ids) or set(map(str, analyses.values_list("pk", flat=True))) != set(ids):
        problems.append(f"{analyses.count()} analyses for {len(ids)} uploads")
    if states != ["done"]:
        problems.append(f"analysis states {states}, not all done")
    if analyses.values("item_id").distinct().count() != len(ids):
        problems.append("two uploads of different files share a media item")
    if problems:
        raise RuntimeError("load run: " + "; ".join(problems))


@contextmanager
def _worker(disabled: list[str]) -> Iterator[subprocess.Popen]:
    """A ``celery worker`` subprocess on this process's own database and broker, started as ``manage.py serve``
    starts one (solo pool, every queue), stopped with SIGTERM at the end."""
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONPATH": str(REPO), "LOG_LEVEL": "WARNING",
           "FORENSICS_DISABLED_DETECTORS": ",".join(disabled)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "--quiet", "-A", "webapp", "worker", "-Q", "cpu,gpu,control",
         "--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=REPO, env=env,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def database_url() -> str:
    """The URL of the database this process uses (under pytest, the test database), for a worker process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgresql://{s['USER']}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"
