"""Mark an image with the tenant's own invisible watermark (its active image key)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detectors.watermark.image_invisible import TenantMark, embed_tenant_watermark
from webapp.accounts.models import Tenant, WatermarkKey
from webapp.accounts.watermark_keys import active_key


class Command(BaseCommand):
    help = ("Embed the tenant's keyed invisible watermark into an image (PNG out keeps it best; it survives JPEG 75 "
            "and a 0.5x resize). The tenant needs an image key: `manage.py watermark_key --kind image`.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("source", type=Path)
        parser.add_argument("destination", type=Path)

    def handle(self, *args: Any, **opts: Any) -> None:
        tenant = Tenant.objects.filter(slug=opts["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {opts['tenant']!r}")
        found = active_key(tenant, WatermarkKey.Kind.IMAGE)
        if found is None:
            raise CommandError(f"{tenant.slug} has no image watermark key; run `manage.py watermark_key "
                               f"--tenant {tenant.slug} --kind image` first")
        if not opts["source"].is_file():
            raise CommandError(f"{opts['source']} is not a file")
        try:
            marked = embed_tenant_watermark(opts["source"], TenantMark(key=found[1]))
        except ValueError as exc:
            raise CommandError(f"cannot mark {opts['source']}: {exc}") from None
        marked.save(opts["destination"])
        self.stdout.write(f"marked {opts['destination']} with image key {found[0]}")
