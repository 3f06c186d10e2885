"""An operator's view: jobs by kind and state, stuck jobs, queue depth, how long analyses and detectors take.

One snapshot function (``snapshot``) feeds both the Prometheus endpoint (``/metrics``) and the console's
operations page, so the two never disagree. Everything comes from the database and the broker at the time
of the request: the web processes, the workers and the sweeper are separate processes, and a counter kept in
one of them would be a partial truth.

One exception, because it can only be counted where it happens: the time each HTTP request takes
(``forensics_http_request_seconds``, observed by ``webapp.middleware.RequestLatency``). Under gunicorn each
worker process counts its own requests, so with ``PROMETHEUS_MULTIPROC_DIR`` set (prometheus_client's
multiprocess mode: each process writes its numbers to files there) ``/metrics`` adds up every process's files,
whichever process answers the scrape. The directory must be empty when the web service starts (a tmpfs in
docker-compose.yml).

``/metrics`` answers only a request with ``Authorization: Bearer $FORENSICS_METRICS_TOKEN`` or, when no token
is configured, a request from the machine itself (loopback): job counts per tenant-free kind are not secret,
but queue depths and failure counts are nobody else's business.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import statistics
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from forensics.models import Analysis, Calibration, DetectorResult
from privacy.models import PrivateFinetuneJob
from webapp.reporting.models import ReportExport

log = logging.getLogger(__name__)
QUEUES = ("cpu", "gpu", "control")
JOB_KINDS = {"analysis": Analysis, "calibration": Calibration, "report_export": ReportExport,
             "private_finetune": PrivateFinetuneJob}
RECENT = 200  # finished analyses / detector results the latency figures look at
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported

_requests = CollectorRegistry()  # this process's request latencies (without the multiprocess directory)
REQUEST_SECONDS = Histogram(
    "forensics_http_request_seconds", "Time to answer an HTTP request, by method, route (URL name) and status class",
    ["method", "route", "status"], registry=_requests,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status_code: int, seconds: float) -> None:
    """Count one answered request. Labels come from small fixed sets, so a client cannot create series: ``route``
    is the URL's name, never the path (ids in paths), and a method outside HTTP_METHODS is ``other``."""
    method = method if method in HTTP_METHODS else "other"
    REQUEST_SECONDS.labels(method, route, f"{status_code // 100}xx").observe(seconds)


def request_metrics_text() -> bytes:
    """The request latencies of every web process (multiprocess mode), or of this one."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(_requests)


def queue_depth(queue: str) -> int | None:
    """Messages waiting in a Celery queue, read from the broker; None if the broker cannot say."""
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("redis"):
            import redis

            return int(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).llen(queue))
        if url.startswith("filesystem"):
            folder = Path(settings.BROKER_DIR) / "queue"
            return sum(1 for p in folder.glob(f"*.{queue}.msg")) if folder.is_dir() else 0
    except Exception as exc:  # noqa: BLE001 - a metrics scrape must answer even when the broker does not
        log.warning("queue depth unavailable", extra={"queue": queue, "error": str(exc)})
    return None


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 3),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3)}


def snapshot() -> dict[str, Any]:
    """The numbers an operator watches, read now."""
    stale = timezone.now() - timedelta(seconds=settings.FORENSICS_STALE_AFTER_SECONDS)
    jobs: dict[str, dict[str, int]] = {}
    stuck: dict[str, int] = {}
    for kind, model in JOB_KINDS.items():
        jobs[kind] = {row["state"]: row["n"] for row in model.objects.values("state").annotate(n=Count("pk"))}
        stuck[kind] = model.objects.filter(state="running", heartbeat_at__lt=stale).count()
    waiting = Analysis.objects.filter(state=Analysis.State.WAITING).order_by("heartbeat_at").first()
    done = Analysis.objects.filter(state=Analysis.State.DONE, finished_at__isnull=False).order_by("-finished_at")
    turnaround = [(a.finished_at - a.created_at).total_seconds() for a in done[:RECENT]]
    detector_seconds: dict[str, list[float]] = {}
    for name, seconds in (DetectorResult.objects.filter(seconds__isnull=False).order_by("-id")
                          .values_list("detector", "seconds")[:RECENT * 4]):
        if seconds is not None:  # filtered out above; the type says it may be
            detector_seconds.setdefault(name, []).append(seconds)
    return {
        "jobs": jobs,
        "stuck": stuck,
        "queues": {queue: queue_depth(queue) for queue in QUEUES},
        "oldest_waiting_seconds": (round((timezone.now() - waiting.heartbeat_at).total_seconds(), 1)
                                   if waiting and waiting.heartbeat_at else 0.0),
        "analysis_seconds": _percentiles(turnaround),
        "detector_seconds": {name: _percentiles(values) for name, values in sorted(detector_seconds.items())},
        "retried_analyses": Analysis.objects.filter(attempts__gt=1, state=Analysis.State.DONE).count(),
        "failed_after_retries": Analysis.objects.filter(state=Analysis.State.FAILED).filter(
            Q(error__contains="stopped responding") | Q(error__startswith="gave up")).count(),
        "stale_after_seconds": settings.FORENSICS_STALE_AFTER_SECONDS,
    }


class _Families(Collector):
    """A collector of metric families built once per scrape (no metric objects: in multiprocess mode those would
    write their values to the shared directory, and the snapshot would be counted once per process)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _gauge(name: str, documentation: str, labels: list[str], values: Iterable[tuple[list[str], float]]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family


def prometheus_text(data: dict[str, Any]) -> bytes:
    """The snapshot in Prometheus's text format (built per scrape: nothing accumulates here)."""
    families = [
        _gauge("forensics_jobs", "Jobs by kind and state", ["kind", "state"],
               (([kind, state], n) for kind, states in data["jobs"].items() for state, n in states.items())),
        _gauge("forensics_stuck_jobs", "Running jobs whose heartbeat is older than the stale window", ["kind"],
               (([kind], n) for kind, n in data["stuck"].items())),
        _gauge("forensics_queue_depth", "Messages waiting in a Celery queue (-1: the broker did not answer)",
               ["queue"], (([queue], -1 if n is None else n) for queue, n in data["queues"].items())),
        _gauge("forensics_oldest_waiting_seconds", "Age of the oldest analysis waiting for a detection worker", [],
               [([], data["oldest_waiting_seconds"])]),
        _gauge("forensics_analysis_seconds", "Upload-to-verdict time of recent analyses", ["quantile"],
               (([q], value) for q, value in data["analysis_seconds"].items() if value is not None)),
        _gauge("forensics_detector_seconds", "Time one detector took on one recent item", ["detector", "quantile"],
               (([name, q], value) for name, values in data["detector_seconds"].items()
                for q, value in values.items() if value is not None)),
        _gauge("forensics_failed_after_retries", "Analyses failed after their worker stopped responding too often",
               [], [([], data["failed_after_retries"])]),
        _gauge("forensics_retried_analyses", "Analyses that finished after a worker died under them", [],
               [([], data["retried_analyses"])]),
    ]
    registry = CollectorRegistry()
    registry.register(_Families(families))
    return generate_latest(registry)


def _allowed(request: HttpRequest) -> bool:
    token = settings.FORENSICS_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics(request: HttpRequest) -> HttpResponse:
    """``/metrics`` for Prometheus (see the module notes for who may read it)."""
    if not _allowed(request):
        return HttpResponse("metrics need the bearer token in FORENSICS_METRICS_TOKEN (or a loopback request)\n",
                            status=403, content_type="text/plain")
    return HttpResponse(prometheus_text(snapshot()) + request_metrics_text(), content_type=CONTENT_TYPE_LATEST)
