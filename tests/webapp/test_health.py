"""/healthz says the process and database answer; /readyz checks the database, the broker and the models."""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.webapp.test_security_settings import manage

WEIGHTS = Path(__file__).resolve().parents[2] / "detectors" / "weights"


def test_ready_when_database_broker_and_models_are(client, db, settings) -> None:
    settings.FORENSICS_DISABLED_DETECTORS = []
    body = client.get("/readyz").json()
    assert body["status"] == "ready", body
    assert all(check["ok"] for check in body["checks"].values())
    assert "synthetic-image" in body["checks"]["models"]["detail"]


def test_weights_that_do_not_match_their_card_are_not_ready(client, db, settings, tmp_path) -> None:
    for name in ("synthetic-image.json", "synthetic-image.safetensors"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    weights = tmp_path / "synthetic-image.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    settings.MODELS_DIR = tmp_path
    settings.FORENSICS_DISABLED_DETECTORS = []
    response = client.get("/readyz")
    assert response.status_code == 503
    models = response.json()["checks"]["models"]
    assert not models["ok"] and "synthetic-image.safetensors does not match" in models["detail"]
    weights.unlink()
    assert "synthetic-image.safetensors is missing" in client.get("/readyz").json()["checks"]["models"]["detail"]


def test_an_unreachable_database_and_broker_are_named(tmp_path) -> None:
    probe = ("import json; from django.test import Client\n"
             "r = Client().get('/readyz'); b = r.json()\n"
             "print('STATUS', r.status_code, b['status'], {k: v['ok'] for k, v in b['checks'].items()})\n")
    run = manage("shell", "-c", probe, tmp_path=tmp_path, env={
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none?connect_timeout=3",
        "REDIS_URL": "redis://127.0.0.1:9/0"})
    lines = [line for line in run.stdout.splitlines() if line.startswith("STATUS")]
    assert lines == ["STATUS 503 not ready {'database': False, 'broker': False, 'models': True}"], \
        run.stdout + run.stderr[-2000:]


def test_a_text_model_without_its_scoring_lm_is_not_ready(client, db, settings, tmp_path) -> None:
    for name in ("text-lm-features.json", "text-lm-features.safetensors"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    settings.MODELS_DIR = tmp_path
    settings.FORENSICS_DISABLED_DETECTORS = []
    assert client.get("/readyz").json()["checks"]["models"]["ok"]  # the converted LM set-up made
    other = tmp_path / "scoring-lm"
    other.mkdir()
    (other / "card.json").write_text('{"source_sha256": "another gguf"}')
    (other / "model.safetensors").write_bytes(b"\x00")
    models = client.get("/readyz").json()["checks"]["models"]
    assert not models["ok"] and "not the one text-lm-features was trained with" in models["detail"]
