"""``manage.py serve``: the web server and a worker together, for the embedded default.

``make run`` uses this. The worker consumes every queue (cpu, gpu and control)
and embeds the beat scheduler that sweeps stale jobs. Ctrl-C stops both.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the web app (gunicorn) together with a Celery worker; Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="serve only the web app")

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, **options: Any) -> None:
        python = sys.executable
        children: list[subprocess.Popen] = []
        if not no_worker:
            children.append(subprocess.Popen([
                python, "-m", "celery", "-A", "webapp", "worker", "-Q", "cpu,gpu,control", "--pool", "solo",
                "--loglevel", "INFO", "-B", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            ]))
        children.append(subprocess.Popen([
            python, "-m", "gunicorn", "webapp.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
            "--threads", "4", "--timeout", "300", "--access-logfile", "-",
        ]))
        broker = settings.CELERY_BROKER_URL.split("://")[0]
        db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Serving http://{host}:{port}/  (database: {db}, broker: {broker}; Ctrl-C to stop)")

        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        self.stdout.write("Stopped.")
        if failed and not stopping:
            sys.exit(f"a child process exited with status {failed[0].returncode}; see the log above")
