"""The shared job life cycle (webapp.job_lifecycle) on its own: sending, with and without a countdown."""
from __future__ import annotations

from typing import Any

import pytest

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


def registered(monkeypatch, task: FakeTask, name: str = "tests.tasks.fake") -> str:  # type: ignore[no-untyped-def]
    """``task`` as the registered task called ``name`` (``send`` looks tasks up by name)."""
    monkeypatch.setattr(lifecycle, "task_named", lambda wanted: {name: task}[wanted])
    return name


def test_send_without_a_countdown_delays_the_job_id_as_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    task = FakeTask()
    assert lifecycle.send(registered(monkeypatch, task), 42, "test") is True
    assert task.calls == [("delay", ("42",), {})]


def test_send_with_a_countdown_schedules_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    task = FakeTask()
    assert lifecycle.send(registered(monkeypatch, task), "abc", "test", countdown=12.5) is True
    assert task.calls == [("apply_async", ("abc",), {"countdown": 12.5})]


def test_an_unknown_task_name_is_an_error_not_an_outage() -> None:
    with pytest.raises(KeyError):
        lifecycle.send("forensics.tasks.no_such_task", "abc", "test")


def test_a_broker_outage_is_logged_not_raised(monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    assert lifecycle.send(registered(monkeypatch, FakeTask(down=True)), "abc", "webhook delivery", countdown=3) is False
    assert "the sweeper will send it again" in caplog.text
