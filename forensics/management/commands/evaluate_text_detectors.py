"""``manage.py evaluate_text_detectors --human FILE --machine FILE``: AUROC and TPR at 1% FPR of every text
detector, overall and by length, on your own jsonl files (wraps detectors.text.evaluate)."""
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from detectors.device import resolve_device
from detectors.text import evaluate


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--human", type=Path, required=True,
                            help='jsonl of human-written texts: one {"text": ...} (or a JSON string) per line')
        parser.add_argument("--machine", type=Path, required=True, help="jsonl of machine-written texts, same format")
        parser.add_argument("--detectors", default="",
                            help="comma-separated names (default: every registered text detector that scores raw text)")
        parser.add_argument("--out", type=Path, default=Path(settings.VAR_DIR) / "evaluation" / "text",
                            help="folder for results.json and roc-<detector>.png (default: var/evaluation/text)")

    def handle(self, *args: Any, **options: Any) -> None:
        names = [n.strip() for n in options["detectors"].split(",") if n.strip()] or None

        def progress(detector: str, done: int, total: int) -> None:
            self.stderr.write(f"{detector}: scored {done}/{total} texts")

        try:
            report = evaluate.evaluate(options["human"], options["machine"], names,
                                       options=settings.FORENSICS_DETECTOR_OPTIONS,
                                       models_dir=Path(settings.MODELS_DIR),
                                       device=resolve_device(settings.FORENSICS_DEVICE), progress=progress)
        except (FileNotFoundError, ValueError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(evaluate.format_table(report))
        for path in evaluate.write_outputs(report, options["out"]):
            self.stdout.write(f"wrote {path}")
