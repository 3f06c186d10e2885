"""``manage.py evaluate_fusion --real NAME=DIR [--fake NAME=DIR] [--limit 200]``: the fused verdict's rates.

For real folders, the ``likely_synthetic`` share is the false-positive rate users would see; for fake
folders, it is the detection rate. Every enabled image detector runs, then the pipeline's own fusion.
"""
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from forensics.fused_evaluation import verdict_rates


def _named(value: str) -> tuple[str, Path]:
    if "=" not in value:
        raise CommandError(f"expected NAME=DIR, got {value!r}")
    name, folder = value.split("=", 1)
    return name, Path(folder)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--real", action="append", default=[], help="NAME=DIR of real photos (repeatable)")
        parser.add_argument("--fake", action="append", default=[], help="NAME=DIR of synthetic images (repeatable)")
        parser.add_argument("--limit", type=int, default=200, help="at most this many images per folder")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", type=Path, help="write the report as JSON here")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["real"] and not options["fake"]:
            raise CommandError("give at least one --real NAME=DIR or --fake NAME=DIR")
        report: dict = {"real": {}, "fake": {}}
        for kind in ("real", "fake"):
            for name, folder in map(_named, options[kind]):
                if not folder.is_dir():
                    raise CommandError(f"{folder} is not a folder")
                rates = verdict_rates(folder, options["limit"], options["seed"])
                report[kind][name] = rates
                share = rates["verdicts"].get("likely_synthetic", 0.0)
                what = "false-positive rate" if kind == "real" else "detection rate"
                self.stdout.write(f"{kind} {name}: {rates['images']} images, fused likely_synthetic {share:.3f} "
                                  f"({what}); flagged per detector: {rates['flagged_by_detector']}")
        if options["out"]:
            options["out"].parent.mkdir(parents=True, exist_ok=True)
            options["out"].write_text(json.dumps(report, indent=2) + "\n")
            self.stdout.write(f"wrote {options['out']}")
