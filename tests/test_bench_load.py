"""``make bench``'s load run (issue 12): concurrent uploads against a real worker it starts itself, on the configured
database and broker; it reports accept latency and throughput, and fails unless every upload became exactly one
finished analysis with the audit chain green."""
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_load_run_is_a_benchmark_group() -> None:
    from benchmarks.__main__ import GROUPS
    from benchmarks.load import run

    assert GROUPS["load"] is run


def test_the_load_run_reports_its_figures_and_checks_every_upload() -> None:
    from benchmarks.load import run
    from tests.conftest import purge_broker

    purge_broker()
    rows = {name: (value, unit) for name, value, unit, _ in run(uploads=6, clients=3, timeout_s=120)}
    p50, p95 = rows["load: accept latency p50"][0], rows["load: accept latency p95"][0]
    assert 0 < p50 <= p95
    assert rows["load: completed"][0] > 0 and rows["load: completed"][1] == "analyses/s"
    assert rows["load: exactly one analysis per upload"][0] == 6
    purge_broker()
