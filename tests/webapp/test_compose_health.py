"""The compose shape's health checks: web is ready (/readyz), each worker answers its ping, Postgres and Redis
answer, and nothing starts before what it needs is healthy."""
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKERS = ("worker-gpu", "worker-cpu", "worker-control")


def services() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def test_each_service_checks_what_it_needs_to_work() -> None:
    s = services()
    assert "/readyz" in " ".join(s["web"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(s["postgres"]["healthcheck"]["test"])
    assert s["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    for name in WORKERS:
        kind, command = s[name]["healthcheck"]["test"]
        hostname = s[name]["command"].split("--hostname ")[1].split()[0].replace("%h", "$$HOSTNAME")
        # a shell, so that $HOSTNAME is expanded; the ping goes to this worker's own name
        assert kind == "CMD-SHELL" and "inspect ping" in command and f"-d {hostname}" in command, name


def test_everything_waits_for_what_it_depends_on_to_be_healthy() -> None:
    s = services()
    for name in ("web", *WORKERS, "beat"):
        depends = s[name]["depends_on"]
        assert {"postgres", "redis"} <= depends.keys(), name
        assert all(d == {"condition": "service_healthy"} for d in depends.values()), name
    for name in (*WORKERS, "beat"):
        assert "web" in s[name]["depends_on"], name  # web applies the migrations
    assert "worker-control" in s["beat"]["depends_on"]  # the sweeps it schedules have a consumer


def test_the_web_services_metrics_directory_is_empty_at_each_start() -> None:
    """gunicorn's workers share their request latencies through PROMETHEUS_MULTIPROC_DIR (README "Operating it");
    prometheus_client needs it empty when the service starts, which a tmpfs is."""
    web = services()["web"]
    folder = web["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert folder in web["tmpfs"] and "gunicorn" in web["command"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in services()["worker-cpu"].get("environment", {})  # web only
