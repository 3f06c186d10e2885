from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from webapp.accounts.models import Membership, Role, Tenant


class Command(BaseCommand):
    help = "Create a user in a tenant with a role (moderator, compliance, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.MODERATOR)
        parser.add_argument("--password", required=True)

    def handle(self, *args: Any, username: str, tenant: str, role: str, password: str, **options: Any) -> None:
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"no tenant {tenant!r}; create it with: manage.py create_tenant {tenant}") from None
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists")
        user = User.objects.create_user(username=username, password=password, is_staff=role == Role.ADMIN)
        Membership.objects.create(user=user, tenant=tenant_obj, role=role)
        self.stdout.write(f"created: {username} ({role}) in {tenant}")
