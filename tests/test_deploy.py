"""The production shape and the two README commands stay wired up."""
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_compose_has_the_production_services() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker-gpu", "worker-cpu", "postgres", "redis"} <= services.keys()
    assert "-Q gpu" in services["worker-gpu"]["command"] and "-Q cpu" in services["worker-cpu"]["command"]
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    for name in ("web", "postgres", "redis", "worker-cpu", "worker-gpu"):
        assert "healthcheck" in services[name], name
    env = services["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://") and env["REDIS_URL"].startswith("redis://")
    assert {"media", "pgdata"} <= compose["volumes"].keys()


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def test_torch_is_pinned_with_torchvision() -> None:
    reqs = (REPO / "requirements.txt").read_text().splitlines()
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs


def _queues(command: str) -> set[str]:
    import re

    match = re.search(r"-Q[ ,\"']+([a-z,]+)", command)
    return set(match.group(1).split(",")) if match else set()


def test_every_queue_has_a_consumer_and_sweeps_have_their_own() -> None:
    """Sweeps, retries and checkpoints go to "control": behind a backlog of uploads on "cpu" they ran minutes
    late. Every routed queue is consumed in the compose shape, by `manage.py serve`, `make worker` and the tests'
    worker."""
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed == {"cpu", "gpu", "control"}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert settings.CELERY_TASK_ROUTES[entry["task"]]["queue"] == "control", entry["task"]
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    compose = set().union(*(_queues(str(s.get("command", ""))) for s in services.values()))
    assert routed <= compose, routed - compose
    assert _queues(services["worker-control"]["command"]) == {"control"}
    for path in ("forensics/management/commands/serve.py", "Makefile"):
        assert _queues((REPO / path).read_text()) == routed, path
    from tests.conftest import ALL_QUEUES

    assert set(ALL_QUEUES.split(",")) == routed, "the tests' worker"
