"""``manage.py evaluate_detectors``: AUC, AP, EER and TPR at 1% FPR per generator and per degradation, on your
own --real/--fake folders, or false positives by group on UTKFace (wraps detectors.evaluation.cli).
Leave-one-family-out is a training run: ``manage.py train_detector ... --exclude-family F --no-weights``."""
import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detectors.evaluation import cli


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        cli.run(argparse.Namespace(**options))
