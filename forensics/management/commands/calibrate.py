"""``manage.py calibrate --tenant SLUG --real DIR [--fake DIR] [--fpr 0.01] [--activate]``

Fit a tenant's own operating point on a folder of its known-real images (and optionally known-synthetic
ones), in this process, and print what it would change; ``--activate`` makes it the tenant's operating point.
The same job runs on the workers when a calibration is created from the console or the API.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detectors.training.data import image_files
from forensics import calibrations
from forensics.models import Calibration
from webapp.accounts.models import Tenant
from webapp.accounts.tenancy import system_actor


def _files(folder: Path | None, limit: int | None) -> list[Path]:
    if folder is None:
        return []
    if not folder.is_dir():
        raise CommandError(f"{folder} is not a folder of images")
    files = sorted(image_files(folder))
    return files[:limit] if limit else files


class Command(BaseCommand):
    help = "Calibrate a tenant's detector thresholds on its own real (and synthetic) images."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--real", type=Path, required=True, help="a folder of images known to be real")
        parser.add_argument("--fake", type=Path, help="a folder of images known to be synthetic (optional: TPR, ROC)")
        parser.add_argument("--fpr", type=float, default=0.01, help="target false-positive rate (default 0.01 = 1%%)")
        parser.add_argument("--limit", type=int, help="use at most this many files of each folder (sorted by name)")
        parser.add_argument("--name", default="", help="a label for this calibration")
        parser.add_argument("--activate", action="store_true", help="make it the tenant's operating point")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args: Any, tenant: str, real: Path, fake: Path | None, fpr: float, limit: int | None,
               name: str, activate: bool, json: bool, **options: Any) -> None:
        if options["verbosity"] < 2:
            logging.getLogger().setLevel(logging.WARNING)
        from webapp.celery import app

        app.conf.task_always_eager = True  # the job runs here, through the same code as on a worker
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"no tenant {tenant!r}; create it with `manage.py create_tenant {tenant}`")
        actor = system_actor(found, "system:cli")
        labelled = [(p, 0) for p in _files(real, limit)] + [(p, 1) for p in _files(fake, limit)]
        try:
            members = calibrations.file_members(labelled)
            calibration = calibrations.create_calibration(actor, members, source=Calibration.Source.FILES,
                                                          target_fpr=fpr, name=name or f"files from {real.name}")
        except calibrations.CalibrationError as exc:
            raise CommandError(str(exc)) from exc
        calibration.refresh_from_db()
        if calibration.state != Calibration.State.DONE:
            raise CommandError(f"calibration v{calibration.version} {calibration.state}: {calibration.error}")
        if activate:
            calibration = calibrations.activate(actor, calibration)
        if json:
            self.stdout.write(_json_dump({"id": str(calibration.id), "version": calibration.version,
                                          "active": calibration.is_active, **calibration.result}))
            return
        self.stdout.write(render(calibration))


def _json_dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render(calibration: Calibration) -> str:
    """A table a person can read: each detector's old and new threshold and the rates to expect."""
    result = calibration.result
    fused = result["fused"]
    lines = [(f"calibration v{calibration.version} ({calibration.id}) for tenant {calibration.tenant.slug}: "
             f"{fused['n_real']} real, {fused['n_fake']} synthetic items; target FPR {_pct(calibration.target_fpr)}"),
             (f"{'detector':28} {'status':10} {'shipped':>8} {'new':>8} {'FPR here':>9} {'expected FPR (95%)':>22} "
             f"{'TPR':>6}")]
    for name, entry in result["detectors"].items():
        lo, hi = entry["fpr_interval"]
        interval = "-" if entry["expected_fpr"] is None else f"{_pct(entry['expected_fpr'])} ({_pct(lo)}–{_pct(hi)})"
        lines.append(f"{name:28} {entry['status']:10} {entry['shipped_threshold']:8.4f} {entry['threshold']:8.4f} "
                     f"{_pct(entry['fpr_in_sample']):>9} {interval:>22} {_pct(entry.get('tpr')):>6}")
    lo, hi = fused["fpr_interval"]
    lines.append(f"{'fused verdict':28} {'':10} {'':8} {'':8} {_pct(fused['fpr_in_sample']):>9} "
                 f"{_pct(fused['expected_fpr']) + f' ({_pct(lo)}–{_pct(hi)})':>22} {_pct(fused['tpr']):>6}")
    if not fused["reachable"]:
        lines.append("warning: the detectors kept at their shipped thresholds already flag more real items than "
                     "the target; the fused rate cannot reach it")
    lines.append("active: yes" if calibration.is_active else
                 f"not active: `manage.py calibrate ... --activate`, the console, or POST "
                 f"/api/v1/calibrations/{calibration.id}/activate")
    return "\n".join(lines)
