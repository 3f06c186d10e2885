"""``manage.py generate {train,sample,swap} {gan,diffusion,faceswap} ...``: the adversary lab
(wraps ``python -m detectors.generators``; run ``manage.py generate -h`` for the options)."""
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = __doc__

    def run_from_argv(self, argv: list[str]) -> None:
        # The lab has its own sub-commands; hand everything after "generate" to its parser.
        from detectors.generators.__main__ import main

        sys.exit(main(argv[2:]))
