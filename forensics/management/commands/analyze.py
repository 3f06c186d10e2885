"""``manage.py analyze PATH... [--text T] [--json]``: analyse files from the command line.

By default the analysis runs in this process (no worker needed); ``--queue``
sends it to the workers instead and waits for the result.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from forensics import services
from forensics.ingest.errors import IngestError
from forensics.models import Analysis
from forensics.presenters import analysis_to_dict
from webapp.accounts.management.commands.ensure_demo import DEMO_TENANT
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor


class Command(BaseCommand):
    help = "Analyse image, video or text files and print the verdict (one JSON object per file with --json)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="*", type=Path)
        parser.add_argument("--text", action="append", default=[], help="analyse this text (repeatable)")
        parser.add_argument("--json", action="store_true", help="print one JSON object per line")
        parser.add_argument("--tenant", default=os.environ.get("FORENSICS_CLI_TENANT") or None,
                            help=f"an existing tenant's slug (default: {DEMO_TENANT!r}, created only on the embedded "
                                 "SQLite default)")
        parser.add_argument("--queue", action="store_true", help="run on the Celery workers instead of in-process")
        parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait with --queue")

    def _tenant(self, slug: str | None) -> Tenant:
        """The named tenant, which must exist; without a name the demo tenant, which is created only on the
        embedded default (never in a production database a command happens to point at)."""
        found = Tenant.objects.filter(slug=slug or DEMO_TENANT).first()
        if found is not None:
            return found
        if slug is not None:
            raise CommandError(f"no tenant {slug!r} in this database; create it with "
                               f"`manage.py create_tenant {slug}` or pass an existing --tenant")
        if not settings.FORENSICS_EMBEDDED_DATABASE:
            raise CommandError(f"no --tenant given and this database has no {DEMO_TENANT!r} tenant; pass --tenant "
                               "SLUG of an existing tenant (`manage.py create_tenant` creates one)")
        self.stderr.write(f"note: created the {DEMO_TENANT!r} tenant (embedded default database); "
                          "pass --tenant to analyse for another")
        return Tenant.objects.create(slug=DEMO_TENANT, name="Demo platform")

    def handle(self, *args: Any, paths: list[Path], text: list[str], json: bool, tenant: str, queue: bool,
               timeout: float, **options: Any) -> None:
        if not paths and not text:
            raise CommandError("give at least one PATH or --text")
        if options["verbosity"] < 2:
            logging.getLogger().setLevel(logging.WARNING)  # keep the terminal for results
        if not queue:
            from webapp.celery import app

            app.conf.task_always_eager = True
        tenant_obj = self._tenant(tenant)
        actor = system_actor(tenant_obj, "system:cli")
        failures = 0
        jobs: list[tuple[str, Analysis | str]] = []
        for path in paths:
            try:
                jobs.append((str(path), services.submit_path(actor, path, source="cli")))
            except IngestError as exc:
                jobs.append((str(path), exc.detail))
        for snippet in text:
            try:
                jobs.append(("--text", services.submit_text(actor, snippet, source="cli")))
            except IngestError as exc:
                jobs.append(("--text", exc.detail))
        for label, job in jobs:
            if isinstance(job, str):
                failures += 1
                self.stderr.write(f"error: {label}: {job}")
                continue
            analysis = self._wait(job, timeout if queue else 0)
            data = analysis_to_dict(analysis)
            if analysis.state != Analysis.State.DONE:
                failures += 1
                reason = analysis.error or f"still {analysis.state} after {timeout:.0f} s (is a worker running?)"
                self.stderr.write(f"error: {label}: {reason}")
            if json:
                self.stdout.write(_json_line({"path": label, **data}))
            elif analysis.state == Analysis.State.DONE:
                score = "—" if data["score"] is None else f"{data['score']:.3f}"
                self.stdout.write(f"{label}: {data['media_type']} {data['sha256'][:16]} {data['verdict']} score={score}")
        if failures:
            sys.exit(1)

    @staticmethod
    def _wait(analysis: Analysis, timeout: float) -> Analysis:
        deadline = time.monotonic() + timeout
        while True:
            analysis.refresh_from_db()
            if analysis.state in Analysis.TERMINAL_STATES or time.monotonic() >= deadline:
                return analysis
            time.sleep(0.5)


def _json_line(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)
