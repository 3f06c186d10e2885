"""``manage.py verify_report FILE [--public-key PEM]``: check a signed report offline.

JSON reports carry their signature inside; CSV reports have FILE.sig beside them.
Without --public-key, this service's own published key is used.
"""
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provenance.keys import published_public_key
from provenance.signing import load_public_key_pem, verify_bytes, verify_json


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--public-key", type=Path, help="PEM of the signing service's public key")

    def handle(self, *args: Any, file: Path, public_key: Path | None, **options: Any) -> None:
        if public_key:
            key = load_public_key_pem(public_key.read_bytes())
        else:
            key = load_public_key_pem(published_public_key())
        data = file.read_bytes()
        if file.suffix == ".json":
            try:
                ok = verify_json(json.loads(data), [key])
            except json.JSONDecodeError:
                ok = False
        else:
            sig = Path(f"{file}.sig")
            if not sig.exists():
                raise CommandError(f"{sig} is missing: a CSV report is verified with its detached signature")
            ok = verify_bytes(data, sig.read_text(), [key])
        self.stdout.write(f"{file}: {'VALID signature' if ok else 'INVALID: the file was changed or signed by another key'}")
        if not ok:
            sys.exit(1)
