from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webapp.accounts.models import Tenant


class Command(BaseCommand):
    help = "Create a tenant (a platform or an organisation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--kind", choices=Tenant.Kind.values, default=Tenant.Kind.PLATFORM)

    def handle(self, *args: Any, slug: str, name: str, kind: str, **options: Any) -> None:
        tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug, "kind": kind})
        self.stdout.write(f"{'created' if created else 'exists'}: tenant {tenant.slug}")
