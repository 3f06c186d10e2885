"""Checks one API response against the response schema the API declares for it (OpenAPI 3.0 -> JSON Schema).

The schemathesis test sees what random requests reach; flows that need real work behind them (a finished
private job, a calibration, a report) call :func:`assert_conforms` on what they got.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema


@lru_cache(maxsize=1)
def _openapi() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type; everything else as it is."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    """The declared JSON schema of ``method path`` (the path as the schema writes it, e.g. ``/api/v1/x/{id}``)."""
    openapi = _openapi()
    response = openapi["paths"][path][method.lower()]["responses"][str(status)]
    content = response["content"]
    body = next(v for k, v in content.items() if "json" in k)["schema"]
    return {**_json_schema(body), "components": _json_schema(openapi["components"])}


def assert_conforms(response: Any, method: str, path: str) -> None:
    """The response's JSON body is valid under the schema declared for its status."""
    schema = response_schema(method, path, response.status_code)
    jsonschema.validate(response.json(), schema, cls=jsonschema.Draft7Validator,
                        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
