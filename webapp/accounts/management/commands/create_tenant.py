from django.core.management.base import BaseCommand

from webapp.accounts.models import Tenant


class Command(BaseCommand):
    help = "Create a tenant (a platform or an organisation)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--kind", choices=Tenant.Kind.values, default=Tenant.Kind.PLATFORM)

    def handle(self, *args, slug: str, name: str, kind: str, **options) -> None:  # type: ignore[no-untyped-def]
        tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug, "kind": kind})
        self.stdout.write(f"{'created' if created else 'exists'}: tenant {tenant.slug}")
