"""``manage.py checkpoint_audit``: sign every tenant's current audit-chain head (beat runs it hourly)."""
from django.core.management.base import BaseCommand

from provenance.checkpoints import checkpoint_all


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        self.stdout.write(f"signed {checkpoint_all()} new checkpoint(s)")
