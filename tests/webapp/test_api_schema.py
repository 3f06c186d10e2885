"""Schemathesis against the API's own OpenAPI schema, in-process through WSGI (no network).

Every GET and POST operation gets generated requests, valid and invalid;
none may answer with a server error, and documented responses must match
the schema. A bounded, derandomised example count keeps it to seconds.
"""
import uuid
from collections.abc import Iterator

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


# Nested objects that stay free-form in the declared responses, each for a stated reason. Every other object a
# response can contain declares its properties, so the schema test above checks it; a response that is itself a
# bare object is never allowed. An entry that no longer matches anything fails too, so the list only shrinks.
FREE_FORM_ALLOWED = {
    "DetectorResult.evidence": "each detector's own evidence (boxes, frames, token spans), per its model card",
    "Analysis.properties": "the media's measured properties, which differ by media type (image, video, text)",
    "Analysis.provenance": "the provenance section (metadata, C2PA, PDQ, near-duplicates), shown as collected",
    "Job.result": "the fine-tuned weights' model card (detectors/cards.py), as written beside the weights",
    "Job.mia_audit": "the membership-inference audit's report, as the audit writes it",
    "WebhookDelivery.payload": "the exact JSON body that was signed and sent, whatever the event",
}


def _openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _free_form(node: dict) -> bool:
    """An object that names none of its properties and lets any value in (`{}`, `true` or no
    additionalProperties): nothing in it is checked. A map with typed values is not free-form."""
    if any(key in node for key in ("properties", "allOf", "oneOf", "anyOf", "$ref")):
        return False
    if node.get("type") != "object" and "additionalProperties" not in node:
        return False
    return node.get("additionalProperties", True) in (True, {})


def _free_form_objects(node: dict, where: str, components: dict, seen: frozenset = frozenset()) -> Iterator[str]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _free_form_objects(components[name], name, components, seen | {name})
        return
    if _free_form(node):
        yield where
    for key in ("allOf", "oneOf", "anyOf"):
        for part in node.get(key, []):
            yield from _free_form_objects(part, where, components, seen)
    for name, prop in node.get("properties", {}).items():
        yield from _free_form_objects(prop, f"{where}.{name}", components, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _free_form_objects(node[key], where, components, seen)


def _responses(openapi: dict) -> Iterator[tuple[str, dict]]:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                for media_type, body in (response.get("content") or {}).items():
                    if "json" in media_type:
                        yield f"{method.upper()} {path} {code}", body.get("schema", {})


def test_every_response_declares_its_schema_down_to_the_allowed_free_form_fields() -> None:
    openapi = _openapi()
    components = openapi["components"]["schemas"]
    bare, nested = [], set()
    for operation, body in _responses(openapi):
        top = components[body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
        if not body or _free_form(top) or (top.get("type") == "array" and _free_form(top.get("items") or {})):
            bare.append(operation)
        nested |= set(_free_form_objects(body, operation, components))
    assert not bare, f"responses declared as bare objects (declare a serializer in @extend_schema): {bare}"
    unexplained = sorted(nested - set(FREE_FORM_ALLOWED))
    assert not unexplained, f"free-form objects in responses (declare them, or allow one with a reason): {unexplained}"
    stale = sorted(set(FREE_FORM_ALLOWED) - nested)
    assert not stale, f"FREE_FORM_ALLOWED names fields that are no longer free-form: {stale}"


def test_the_free_form_check_sees_a_bare_object_and_a_bare_nested_field() -> None:
    components = {"Thing": {"type": "object", "properties": {"extra": {"type": "object", "additionalProperties": {}},
                                                             "named": {"type": "object", "additionalProperties":
                                                                       {"type": "string"}}}}}
    assert _free_form({"type": "object", "additionalProperties": {}})
    assert _free_form({"type": "object"})
    assert not _free_form({"type": "object", "additionalProperties": {"type": "number"}})
    assert list(_free_form_objects({"$ref": "#/components/schemas/Thing"}, "op", components)) == ["Thing.extra"]
