"""``manage.py verify_audit``: walk each tenant's audit hash chain and report the first broken link."""
from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provenance.audit import verify_chain
from provenance.checkpoints import verify_checkpoints
from provenance.keys import signing_key
from webapp.accounts.models import Tenant


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain and its signed checkpoints; exits 1 if anything is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant (slug)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, tenant: str | None, json: bool, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants:
                raise CommandError(f"no tenant {tenant!r}")
        public_key = signing_key().public_key()
        broken = 0
        for t in tenants:
            report = verify_chain(t)
            if report.ok:
                report = verify_checkpoints(t, report, public_key)
            broken += not report.ok
            if json:
                self.stdout.write(_dumps(report.to_dict()))
            elif report.ok:
                self.stdout.write(f"{t.slug}: OK, {report.checked} events, head {report.head_hash[:16]}")
            else:
                self.stdout.write(f"{t.slug}: BROKEN at event #{report.first_broken_seq}: {report.reason} "
                                  f"({report.checked} events verified before it)")
        if broken:
            sys.exit(1)


def _dumps(data: dict) -> str:
    return json.dumps(data)
