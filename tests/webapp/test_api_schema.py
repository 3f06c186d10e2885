"""Schemathesis against the API's own OpenAPI schema, in-process through WSGI (no network).

Every GET and POST operation gets generated requests, valid and invalid;
none may answer with a server error, and documented responses must match
the schema. A bounded, derandomised example count keeps it to seconds.
"""
import uuid
from typing import Iterator

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from webapp.api.throttling import PerCredentialThrottle

EXAMPLES_PER_OPERATION = 20

# Loaded at collection: the schema view needs no database. (schemathesis's
# from_fixture() does not work with pytest 9: it rewrites a removed attribute.)
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _in_process(db, monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    # The fuzzer sends far more than a client's rate; rate limits have their own tests.
    monkeypatch.setattr(PerCredentialThrottle, "THROTTLE_RATES", {"credential": "100000/min"})
    cache.clear()
    # As Django's test client does: a finished request must not close the test's
    # database connection (and with it the transaction the test runs in).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def existing(actor) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Real objects, so generated requests reach past the 404 of a random id."""
    from forensics.services import submit_text
    from webapp.webhooks.services import create_endpoint, send_ping

    endpoint = create_endpoint(actor, "https://93.184.216.34/hook").endpoint
    send_ping(endpoint)  # queued only on commit, which never comes in this test's transaction
    return {"/api/v1/analyses/": str(submit_text(actor, "words for the schema test").id),
            "/api/v1/webhooks/": str(endpoint.id)}


def use_existing_ids(case, existing: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    params = case.path_parameters or {}
    for prefix, object_id in existing.items():
        if case.path.startswith(prefix) and _is_uuid(params.get("id")):
            params["id"] = object_id


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@schema.include(method=["GET", "POST"]).parametrize()
@hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, api_key, existing) -> None:  # type: ignore[no-untyped-def]
    use_existing_ids(case, existing)
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"},
                           checks=[not_a_server_error, response_schema_conformance])
