"""``make bench``: run every benchmark on a throw-away embedded install and print a table.

Each benchmark returns rows of (name, value, unit, notes). Run one group with
``python -m benchmarks pipeline``.
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable

os.environ.setdefault("FORENSICS_VAR_DIR", tempfile.mkdtemp(prefix="forensics-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from benchmarks import detectors, load, neardup, pipeline, privacy, text, text_lm_features, text_supervised, webhooks

Row = tuple[str, float, str, str]
GROUPS: dict[str, Callable[[], list[Row]]] = {
    "pipeline": pipeline.run,
    "neardup": neardup.run,
    "detectors": detectors.run,
    "privacy": privacy.run,
    "text-supervised": text_supervised.run,
    "text": text.run,
    "text-lm-features": text_lm_features.run,
    "webhooks": webhooks.run,
    "load": load.run,
}


def print_table(rows: list[Row]) -> None:
    headers = ("benchmark", "value", "unit", "notes")
    cells = [(name, f"{value:,.2f}", unit, notes) for name, value, unit, notes in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(v.rjust(w) if i == 1 else v.ljust(w) for i, (v, w) in enumerate(zip(c, widths))))


def main(argv: list[str]) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    chosen = argv or list(GROUPS)
    unknown = [g for g in chosen if g not in GROUPS]
    if unknown:
        sys.exit(f"unknown benchmark group(s) {unknown}; choose from {sorted(GROUPS)}")
    rows: list[Row] = []
    for group in chosen:
        rows.extend(GROUPS[group]())
    print_table(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
