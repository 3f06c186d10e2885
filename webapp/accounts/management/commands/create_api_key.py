from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from webapp.accounts.keys import ALL_SCOPES, issue_api_key
from webapp.accounts.models import Tenant


class Command(BaseCommand):
    help = "Issue an API key for a tenant. The key is printed once and stored only as a hash."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--scopes", default=",".join(ALL_SCOPES),
                            help=f"comma-separated, at least one of {','.join(ALL_SCOPES)} (default: all)")

    def handle(self, *args: Any, tenant: str, name: str, scopes: str, **options: Any) -> None:
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"no tenant {tenant!r}") from None
        try:
            issued = issue_api_key(tenant_obj, name, [s.strip() for s in scopes.split(",") if s.strip()])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(issued.plaintext)
        self.stderr.write("Store this key now: it cannot be shown again.")
