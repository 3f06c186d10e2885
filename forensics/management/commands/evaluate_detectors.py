"""``manage.py evaluate_detectors``: AUC, AP, EER and TPR at 1% FPR per generator and per degradation, on your
own --real/--fake folders, or false positives by group on UTKFace (wraps detectors.evaluation.cli).
Leave-one-family-out is a training run: ``manage.py train_detector ... --exclude-family F --no-weights``."""
import argparse

from django.core.management.base import BaseCommand

from detectors.evaluation import cli


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        cli.run(argparse.Namespace(**options))
