"""Ingest + provenance stage throughput (in-process, embedded SQLite), and the audit chain."""
from __future__ import annotations

import io
import resource
import time

import numpy as np
from PIL import Image

from forensics import services
from provenance.audit import append_event, verify_chain
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor
from webapp.celery import app


def _jpeg(seed: int, size: int = 512) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def run(n_images: int = 40, n_full: int = 8, n_events: int = 500) -> list[tuple[str, float, str, str]]:
    app.conf.task_always_eager = True
    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    actor = system_actor(tenant, "system:bench")
    from django.test import override_settings

    from detectors.registry import registered_names

    images = [_jpeg(i) for i in range(n_images)]
    with override_settings(FORENSICS_DISABLED_DETECTORS=registered_names()):
        start = time.perf_counter()
        for data in images:
            services.submit_chunks(actor, [data], original_name="bench.jpg", source="cli")
        provenance_only = n_images / (time.perf_counter() - start)
    full = [_jpeg(1000 + i) for i in range(n_full)]
    start = time.perf_counter()
    for data in full:
        services.submit_chunks(actor, [data], original_name="bench.jpg", source="cli")
    full_rate = n_full / (time.perf_counter() - start)

    start = time.perf_counter()
    for i in range(n_events):
        append_event(tenant, "system:bench", "bench.event", payload={"i": i})
    append_s = time.perf_counter() - start
    start = time.perf_counter()
    report = verify_chain(tenant)
    verify_s = time.perf_counter() - start
    assert report.ok
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        ("ingest + provenance stage, 512x512 JPEG", provenance_only, "images/s", "SQLite, in-process, detectors off"),
        ("ingest + whole pipeline, 512x512 JPEG", full_rate, "images/s", "all image detectors, first call loads models"),
        ("audit append", n_events / append_s, "events/s", "SQLite"),
        ("audit verify", report.checked / verify_s, "events/s", f"{report.checked} events"),
        ("peak RSS", peak_mib, "MiB", "whole benchmark process"),
    ]
