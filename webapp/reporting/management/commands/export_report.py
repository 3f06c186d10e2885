"""``manage.py export_report --tenant T --start 2026-11-01 --end 2026-12-01 --format json --out FILE``."""
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webapp.accounts.models import Tenant
from webapp.reporting.reports import build_period_report, export_report


def _day(value: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time.min, tzinfo=UTC)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Export a signed period report (JSON with an embedded signature, or CSV with FILE.sig beside it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (UTC)")
        parser.add_argument("--format", choices=["json", "csv", "pdf"], default="json")
        parser.add_argument("--verdict")
        parser.add_argument("--reviewer")
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args: Any, **o: Any) -> None:
        tenant = Tenant.objects.filter(slug=o["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {o['tenant']!r}")
        report = build_period_report(tenant, _day(o["start"]), _day(o["end"]), verdict=o["verdict"],
                                     reviewer=o["reviewer"], actor="system:cli")
        body, detached = export_report(report, o["format"], tenant, "system:cli")
        o["out"].write_bytes(body)
        if detached:
            Path(f"{o['out']}.sig").write_text(detached)
        self.stdout.write(f"wrote {o['out']} ({report['counts']['analyses']} analyses)"
                          + (f" and {o['out']}.sig" if detached else ""))
