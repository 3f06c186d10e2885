"""The shared job life cycle (webapp.job_lifecycle) on its own: sending, with and without a countdown."""
from __future__ import annotations

from typing import Any

from webapp import job_lifecycle as lifecycle


class FakeTask:
    def __init__(self, down: bool = False) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.down = down

    def delay(self, *args: Any) -> None:
        if self.down:
            raise ConnectionError("broker down")
        self.calls.append(("delay", args, {}))

    def apply_async(self, args: tuple, **options: Any) -> None:
        if self.down:
            raise ConnectionError("broker down")
        self.calls.append(("apply_async", args, options))


def test_send_without_a_countdown_delays_the_job_id_as_text() -> None:
    task = FakeTask()
    assert lifecycle.send(task, 42, "test") is True
    assert task.calls == [("delay", ("42",), {})]


def test_send_with_a_countdown_schedules_it() -> None:
    task = FakeTask()
    assert lifecycle.send(task, "abc", "test", countdown=12.5) is True
    assert task.calls == [("apply_async", ("abc",), {"countdown": 12.5})]


def test_a_broker_outage_is_logged_not_raised(caplog) -> None:  # type: ignore[no-untyped-def]
    assert lifecycle.send(FakeTask(down=True), "abc", "webhook delivery", countdown=3) is False
    assert "the sweeper will send it again" in caplog.text
