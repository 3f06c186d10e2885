"""``manage.py checkpoint_audit``: sign every tenant's current audit-chain head (beat runs it hourly)."""
from typing import Any

from django.core.management.base import BaseCommand

from provenance.checkpoints import checkpoint_all


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"signed {checkpoint_all()} new checkpoint(s)")
