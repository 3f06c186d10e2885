"""Liveness (``/healthz``: the process and its database answer) and readiness (``/readyz``: the database, the
broker, and the shipped model weights matching their cards), for health checks and load balancers."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)
BROKER_TIMEOUT_SECONDS = 3
_verified: dict[tuple[str, int, int], str] = {}  # (weights path, size, mtime_ns) -> sha256, hashed once per process


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the compose health check (503 via the middleware if it is down)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} answers"


def check_broker() -> str:
    from webapp.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
        return f"{conn.transport_cls} broker answers"


def check_models() -> str:
    """Every enabled detector's weights in FORENSICS_MODELS_DIR exist and hash to what their model card says."""
    from detectors.cards import sha256_file  # here, not at import: the module brings PyTorch

    checked = []
    for card_file in sorted(Path(settings.MODELS_DIR).glob("*.json")):
        card = json.loads(card_file.read_text())
        if "weights_sha256" not in card or card.get("name") in settings.FORENSICS_DISABLED_DETECTORS:
            continue
        weights = card_file.with_name(card.get("weights_file") or f"{card_file.stem}.safetensors")
        if not weights.is_file():
            raise RuntimeError(f"{weights.name} is missing (its card {card_file.name} names it)")
        stat = weights.stat()
        key = (str(weights), stat.st_size, stat.st_mtime_ns)
        if key not in _verified:
            _verified[key] = sha256_file(weights)
        if _verified[key] != card["weights_sha256"]:
            raise RuntimeError(f"{weights.name} does not match the SHA-256 in {card_file.name}")
        if "scoring_lm" in card:  # a text model that needs the converted scoring LM beside it
            check_scoring_lm(card)
        checked.append(card.get("name") or card_file.stem)
    return f"{len(checked)} model(s) verified" + (f": {', '.join(checked)}" if checked else "")


def check_scoring_lm(card: dict[str, Any]) -> None:
    """The converted scoring LM is there and comes from the GGUF the text model was trained with."""
    from detectors.text.scoring_lm import CARD_NAME, CONVERT_COMMAND, scoring_lm_dir

    folder = scoring_lm_dir(Path(settings.MODELS_DIR))
    if not (folder / CARD_NAME).is_file() or not (folder / "model.safetensors").is_file():
        raise RuntimeError(f"the scoring LM of {card.get('name')} is not converted; run `{CONVERT_COMMAND}`")
    converted = json.loads((folder / CARD_NAME).read_text())
    if converted.get("source_sha256") != card["scoring_lm"].get("source_sha256"):
        raise RuntimeError(f"the scoring LM in {folder.name} is not the one {card.get('name')} was trained with")


CHECKS: dict[str, Callable[[], str]] = {"database": check_database, "broker": check_broker, "models": check_models}


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every check passes, else 503; each check says what it found (never a traceback)."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = {"ok": True, "detail": check()}
        except Exception as exc:  # noqa: BLE001 - a failed check is a reported state, not a crash
            log.warning("readiness check failed", extra={"check": name, "error": str(exc)})
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {first_line}"}
    ready = all(r["ok"] for r in results.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)
