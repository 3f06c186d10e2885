"""Issue, import or rotate a tenant's watermark key (printed once; stored encrypted)."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webapp.accounts.models import Tenant, WatermarkKey
from webapp.accounts.tenancy import system_actor
from webapp.accounts.watermark_keys import issue_key


class Command(BaseCommand):
    help = ("Issue (or --import) the tenant's watermark key for text or images. The key is printed once: give it "
            "to the platform's generator so it marks its output; detection then uses it for that tenant only.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--kind", required=True, choices=WatermarkKey.Kind.values)
        parser.add_argument("--import-key", dest="import_key", default=None,
                            help="use this existing key instead of generating one (at least 16 characters)")

    def handle(self, *args: Any, **opts: Any) -> None:
        tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {opts['tenant']!r}; create it with `manage.py create_tenant`")
        actor = system_actor(tenant, "system:cli")
        try:
            issued = issue_key(actor, opts["kind"], plaintext=opts["import_key"])
        except (ValueError, PermissionError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{issued.kind} watermark key {issued.key_id} is now active for {tenant.slug}")
        if opts["import_key"] is None:
            self.stdout.write(f"key (shown once, stored encrypted): {issued.plaintext}")
