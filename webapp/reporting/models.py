"""The report export job. It lived in ``provenance`` until issue 13 and keeps that table."""
from __future__ import annotations

import uuid

from django.db import models

from webapp.accounts.models import Tenant
from webapp.job_lifecycle import LifecycleJob


class ReportExport(LifecycleJob):
    """An export job (``webapp.job_lifecycle``): built on a worker, with progress, kept as a signed file."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="report_exports")
    requested_by = models.CharField(max_length=150)
    params = models.JSONField()
    format = models.CharField(max_length=8)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    file = models.CharField(max_length=300, blank=True)
    signature = models.TextField(blank=True, help_text="Detached signature (CSV, PDF); JSON embeds its own.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "provenance_reportexport"  # created by provenance's migrations; moved without touching the data
        ordering = ["-created_at"]
