from collections.abc import Iterator

import pytest

from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    """A real HTTP receiver on 127.0.0.1 (allowed over plain http, as in development)."""
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = True
    with running_receiver() as state:
        yield state
