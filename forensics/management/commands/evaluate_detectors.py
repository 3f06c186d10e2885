"""``manage.py evaluate_detectors``: AUC, AP, EER and TPR at 1% FPR per generator, per degradation,
leave-one-generator-out, or on your own --real/--fake folders (wraps detectors.evaluation.cli)."""
import argparse

from django.core.management.base import BaseCommand

from detectors.evaluation import cli


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        cli.run(argparse.Namespace(**options))
