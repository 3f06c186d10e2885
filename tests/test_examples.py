"""The README's client examples run against a live server, so they are known to work."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.media import jpeg_bytes
from tests.support.webhook_receiver import running_receiver
from webapp.webhooks.signing import sign

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.django_db(transaction=True)


def load_client():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("example_client", EXAMPLES / "client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_client_submits_waits_and_prints_the_verdict(live_server, api_key, eager_celery, tmp_path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(seed=3))
    done = subprocess.run([sys.executable, str(EXAMPLES / "client.py"), str(photo), "--url", live_server.url,
                           "--key", api_key, "--timeout", "60"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["state"] == "done" and printed["verdict"] in ("likely_synthetic", "likely_authentic")


def test_python_client_webhook_verification(live_server, api_key, eager_celery, settings, tmp_path) -> None:
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = True
    client_module = load_client()
    client = client_module.ForensicsClient(live_server.url, api_key)
    with running_receiver() as receiver:
        receiver.secret = client.register_webhook(receiver.url)["secret"]
        photo = tmp_path / "photo.jpg"
        photo.write_bytes(jpeg_bytes(seed=4))
        analysis = client.submit(path=photo)
        assert client.wait_for(analysis["id"], timeout=60)["state"] == "done"
        [request] = receiver.received
    assert client_module.verify_webhook(receiver.secret, request.headers["Forensics-Signature"], request.body)
    assert not client_module.verify_webhook(receiver.secret, request.headers["Forensics-Signature"],
                                            request.body + b" ")
    stale = sign(receiver.secret, request.body, timestamp=1_000_000_000)
    assert not client_module.verify_webhook(receiver.secret, stale, request.body)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_examples(live_server, api_key, eager_celery, tmp_path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_bytes(seed=5))
    done = subprocess.run(["bash", str(EXAMPLES / "curl.sh"), str(photo)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "FORENSICS_URL": live_server.url,
                               "FORENSICS_API_KEY": api_key})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "state done" in done.stdout and '"verdict":"' in done.stdout
    assert "batch HTTP 202" in done.stdout and "/api/v1/analyses?cursor=" in done.stdout
