"""Subcommands of the supervised text detector: ``train-supervised`` and ``export-jsonl``.

``register(subparsers)`` adds them to the ``python -m detectors.text`` dispatcher.
"""
from __future__ import annotations

from typing import Any

from detectors.text.evaluate import add_export_arguments, run_export
from detectors.text.supervised_training import add_train_arguments, run_train


def register(subparsers: Any) -> None:
    """Add the subcommands; each sets ``func`` (args -> exit code)."""
    train = subparsers.add_parser("train-supervised",
                                  help="train text-supervised on the shared corpus; write weights + card")
    add_train_arguments(train)
    train.set_defaults(func=run_train)
    export = subparsers.add_parser("export-jsonl",
                                   help="write a split of the shared corpus as human.jsonl and machine.jsonl")
    add_export_arguments(export)
    export.set_defaults(func=run_export)
