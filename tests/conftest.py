"""Shared fixtures: tenants, users, API clients, and a real Celery worker process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings

TEST_PLUGINS = ["tests.support.detectors"]
# The shipped model detectors are exercised by their own tests; elsewhere they
# are switched off so the flow tests stay fast and independent of model quality.
MODEL_DETECTORS = ["synthetic-image", "face-synthetic", "video-faces", "text-supervised", "text-binoculars",
                   "text-lm-features"]
REPO = Path(__file__).resolve().parents[1]


def _django_active(config) -> bool:  # type: ignore[no-untyped-def]
    """False when a pure-PyTorch folder runs with ``-p no:django``."""
    return config.pluginmanager.hasplugin("django")


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    from tests.support.backend_pass import select_for_pass

    select_for_pass(config, items)


def pytest_report_header(config) -> list[str]:  # type: ignore[no-untyped-def]
    if not _django_active(config):
        return ["forensics backends: none (pytest-django disabled)"]
    db = django_settings.DATABASES["default"]
    return [
        (f"forensics backends: database={db['ENGINE'].rsplit('.', 1)[-1]} "
        f"broker={django_settings.CELERY_BROKER_URL.split('://')[0]} media={django_settings.MEDIA_ROOT}")
    ]


@pytest.fixture(autouse=True)
def _test_plugins(request):  # type: ignore[no-untyped-def]
    if not _django_active(request.config):
        return
    settings = request.getfixturevalue("settings")
    settings.FORENSICS_DETECTOR_PLUGINS = TEST_PLUGINS
    settings.FORENSICS_DISABLED_DETECTORS = MODEL_DETECTORS


@pytest.fixture
def tenant(db):  # type: ignore[no-untyped-def]
    from webapp.accounts.models import Tenant

    return Tenant.objects.create(slug="acme", name="Acme Platform")


@pytest.fixture
def other_tenant(db):  # type: ignore[no-untyped-def]
    from webapp.accounts.models import Tenant

    return Tenant.objects.create(slug="globex", name="Globex")


@pytest.fixture
def actor(tenant):  # type: ignore[no-untyped-def]
    from webapp.accounts.tenancy import system_actor

    return system_actor(tenant, "user:test")


def make_user(tenant, username: str, role: str = "moderator"):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    from webapp.accounts.models import Membership

    user = get_user_model().objects.create_user(username=username, password="correct horse battery")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


@pytest.fixture
def moderator_client(client, tenant):  # type: ignore[no-untyped-def]
    client.force_login(make_user(tenant, "mod"))
    return client


@pytest.fixture
def api_key(tenant) -> str:  # type: ignore[no-untyped-def]
    from webapp.accounts.keys import issue_api_key

    return issue_api_key(tenant, "test").plaintext


@pytest.fixture
def api(api_key):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def eager_celery(transactional_db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Run tasks in-process (the CLI's default mode). Transactional, because
    jobs are queued only when the submitting transaction commits."""
    from webapp.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def database_url() -> str:
    """The URL of the *test* database, for worker processes."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgresql://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


ALL_QUEUES = "cpu,gpu,control"  # what the tests' worker consumes unless a test leaves a queue out


class WorkerProcess:
    """A real ``celery worker`` subprocess consuming the test broker and database."""

    def __init__(self, extra_env: dict[str, str] | None = None, queues: str = ALL_QUEUES) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "FORENSICS_DETECTOR_PLUGINS": ",".join(TEST_PLUGINS),
            "FORENSICS_DISABLED_DETECTORS": ",".join(MODEL_DETECTORS),
            "PYTHONPATH": str(REPO),
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webapp", "worker", "-Q", queues, "--pool", "solo",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO, env=env,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def purge_broker() -> None:
    url = django_settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        redis.Redis.from_url(url).flushdb()
    else:
        for folder in ("queue", "processed"):
            for path in (django_settings.BROKER_DIR / folder).glob("*"):
                path.unlink(missing_ok=True)


@pytest.fixture
def worker_factory(transactional_db) -> Iterator[type[WorkerProcess]]:  # type: ignore[no-untyped-def]
    purge_broker()
    started: list[WorkerProcess] = []

    class Factory(WorkerProcess):
        def __init__(self, extra_env: dict[str, str] | None = None, queues: str = ALL_QUEUES) -> None:
            super().__init__(extra_env, queues)
            started.append(self)

    yield Factory
    for worker in started:
        worker.stop()
    purge_broker()


@pytest.fixture
def worker(worker_factory) -> WorkerProcess:  # type: ignore[no-untyped-def]
    return worker_factory()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.25, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_until_stale(job, stale_after: float, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until a sweep would take ``job`` (a ``LifecycleJob``) for a dead worker's: still ``running``, its
    heartbeat older than ``stale_after`` seconds: the sweep's own test (``webapp.job_lifecycle.sweep``) on the
    clock it reads. Polled with a deadline, where a sleep would guess the window plus a margin."""
    from datetime import timedelta

    from django.utils import timezone

    model = type(job)
    wait_for(lambda: model.objects.filter(pk=job.pk, state="running",
                                          heartbeat_at__lt=timezone.now() - timedelta(seconds=stale_after)).exists(),
             timeout=timeout, what=f"the heartbeat of {model.__name__} {job.pk} to go stale")


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(request):  # type: ignore[no-untyped-def]
    """Worker processes and the live server may still hold a connection to the
    PostgreSQL test database when the run ends; end them so it can be dropped."""
    if not _django_active(request.config):
        yield
        return
    request.getfixturevalue("django_db_setup")
    django_db_blocker = request.getfixturevalue("django_db_blocker")
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
