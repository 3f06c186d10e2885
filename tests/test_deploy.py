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
