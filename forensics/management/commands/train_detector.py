"""``manage.py train_detector``: train, calibrate and card a detector (wraps detectors.training.cli)."""
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from detectors.training import cli


class Command(BaseCommand):
    help = "Train a synthetic-image or face detector on real photos and generator fakes; writes safetensors + model card."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        import argparse

        card = cli.run(argparse.Namespace(**options))
        self.stdout.write(cli.summary(card))
