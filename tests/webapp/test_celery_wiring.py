"""One Celery wiring (webapp/celery.py): every task name the code uses is registered on a worker started the
production way, tasks come from autodiscovery (no AppConfig imports them), and no service imports a tasks
module (a service queues by name; the tasks module chains the stages)."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import MODEL_DETECTORS, REPO, TEST_PLUGINS, database_url

PACKAGES = ("forensics", "privacy", "provenance", "webapp")
TASK_NAME = re.compile(r"^(forensics|privacy|provenance|webapp)(\.\w+)*\.tasks\.\w+$")
# `make worker` (Makefile) and the Dockerfile's worker: the queues every deployment consumes.
PRODUCTION_WORKER = ["-m", "celery", "-A", "webapp", "worker", "-Q", "cpu,gpu,control", "--pool", "solo"]


def _sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py")) if "migrations" not in p.parts]


def task_names_in_the_code() -> set[str]:
    """Every string in the service's code that names a task: routes, time limits, the beat schedule, the
    names services queue by (``job_lifecycle.send``) and the names the tasks declare."""
    names = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and TASK_NAME.match(node.value):
                names.add(node.value)
    return names


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def test_only_tasks_modules_import_tasks_modules() -> None:
    """A service (the pipeline included) never imports the tasks that run it, at the top or inside a function,
    and no AppConfig.ready() imports tasks: autodiscovery does."""
    offenders = {}
    for path in _sources():
        if path.name == "tasks.py":
            continue
        tasks = sorted(m for m in _imported_modules(path) if m.endswith(".tasks") and m.startswith(PACKAGES))
        if tasks:
            offenders[str(path.relative_to(REPO))] = tasks
    assert not offenders, f"modules importing a tasks module (queue by name with job_lifecycle.send): {offenders}"


def test_the_scan_finds_the_names_the_services_queue_by() -> None:
    names = task_names_in_the_code()
    assert {"forensics.tasks.run_provenance_stage", "forensics.tasks.run_detection_stage",
            "forensics.tasks.run_calibration", "privacy.tasks.run_private_finetune",
            "provenance.tasks.run_report_export", "webapp.webhooks.tasks.deliver_webhook"} <= names


def _registered_on_a_production_worker() -> set[str]:
    """Start ``celery -A webapp worker`` as a deployment does and read the task list its banner prints."""
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONPATH": str(REPO), "LOG_LEVEL": "INFO",
           "FORENSICS_DETECTOR_PLUGINS": ",".join(TEST_PLUGINS),
           "FORENSICS_DISABLED_DETECTORS": ",".join(MODEL_DETECTORS)}
    proc = subprocess.Popen([sys.executable, *PRODUCTION_WORKER, "--loglevel", "INFO", "--without-gossip",
                             "--without-mingle", "--without-heartbeat"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if " ready." in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not ready.is_set() and proc.poll() is None and time.monotonic() < deadline:
            ready.wait(0.5)
        assert ready.is_set(), "the worker did not start:\n" + "".join(lines[-40:])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
    banner = "".join(lines)
    assert "[tasks]" in banner, banner[-3000:]
    return set(re.findall(r"^\s+\. (\S+)\s*$", banner.split("[tasks]", 1)[1], flags=re.MULTILINE))


@pytest.mark.integration
def test_every_task_name_the_code_uses_is_registered_on_a_production_worker(transactional_db) -> None:  # type: ignore[no-untyped-def]
    registered = _registered_on_a_production_worker()
    used = task_names_in_the_code()
    missing = sorted(used - registered)
    assert not missing, f"task names used in the code that the worker does not know: {missing}"


CONCURRENT_FIRST_SENDS = """
import threading, django
django.setup()
from webapp.celery import task_named
barrier, errors = threading.Barrier(8), []
def first_send():
    barrier.wait()
    try:
        task_named("forensics.tasks.run_provenance_stage")
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=first_send) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
raise SystemExit(1 if errors else 0)
"""


def test_concurrent_first_sends_in_a_fresh_web_process_all_find_the_task() -> None:
    """A threaded web process's first uploads arrive together: while one thread's lookup imports the tasks
    modules (Celery marks the app finalized before its autodiscovery is done), the others used to get
    NotRegistered, a 500 for an upload whose row was already committed (found by ``make bench``'s load run)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CONCURRENT_FIRST_SENDS], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


FIRST_LOOKUP_AFTER_SETUP = """
import logging, django
from django.core import checks
django.setup()
checks_run = []
@checks.register()
def record(app_configs, **kwargs):
    checks_run.append(1)
    return []
kept = logging.NullHandler()
logging.getLogger().addHandler(kept)
from webapp.celery import app, task_named
task_named("forensics.tasks.run_provenance_stage")
assert kept in logging.getLogger().handlers, "django.setup() ran again: LOGGING re-applied, the handler dropped"
assert not checks_run, "Django's system checks ran inside the lookup"
missing = {"privacy.tasks.run_private_finetune", "provenance.tasks.run_report_export",
           "webapp.webhooks.tasks.deliver_webhook"} - set(app.tasks)
assert not missing, f"tasks modules left unloaded: {missing}"
"""


def test_the_first_lookup_in_a_set_up_process_leaves_django_as_it_is() -> None:
    """A web process is set up before its first request: the lookup that loads the tasks modules there must not
    set Django up again (Celery's Django fixup does, for a worker starting before Django): that re-applied
    ``LOGGING``, dropping every handler added since, and ran the system checks inside the request."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", FIRST_LOOKUP_AFTER_SETUP], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
