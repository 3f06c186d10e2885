"""Used by ``make run``: a demo tenant and admin on a fresh install, credentials printed once."""
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from webapp.accounts.models import Membership, Role, Tenant

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = "Create the demo tenant and an admin user if there is no user yet."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write("Users exist already; no demo admin created.")
            return
        tenant, _ = Tenant.objects.get_or_create(slug=DEMO_TENANT, defaults={"name": "Demo platform"})
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(DEMO_ADMIN, password=password)
        Membership.objects.create(user=user, tenant=tenant, role=Role.ADMIN)
        line = "=" * 64
        self.stdout.write(
            f"{line}\nDemo admin created (shown once, change it in the admin):\n"
            f"  username: {DEMO_ADMIN}\n  password: {password}\n  tenant:   {tenant.slug}\n{line}"
        )
