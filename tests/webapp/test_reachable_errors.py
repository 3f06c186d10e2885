"""Inputs that used to reach a 500: each is now a clean 4xx (problem+json under /api/) and changes nothing."""
import json

import pytest

from forensics.models import Analysis

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("query", ["state=a%00b", "verdict=%00", "media_type=image&x%00=1", "cursor=%00"])
def test_a_nul_byte_in_an_api_filter_is_a_400_problem(api, query: str) -> None:
    """PostgreSQL cannot compare a string holding NUL and raised (500); SQLite silently matched nothing."""
    response = api.get(f"/api/v1/analyses?{query}")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("query", ["detector=a%00b", "state=%00", "q%00=1"])
def test_a_nul_byte_in_a_console_filter_is_a_400(moderator_client, query: str) -> None:
    response = moderator_client.get(f"/?{query}")
    assert response.status_code == 400 and b"NUL" in response.content


def test_the_last_representable_day_as_until_is_a_normal_queue_page(moderator_client, actor) -> None:
    from forensics import services

    services.submit_text(actor, "a line to list")
    response = moderator_client.get("/?until=9999-12-31&since=0001-01-01")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 1 and not response.context["filter_errors"]


@pytest.mark.parametrize("url", ["/api/v1/analyses", "/api/v1/analyses/batch", "/api/v1/webhooks",
                                 "/api/v1/reports", "/api/v1/privacy/datasets", "/api/v1/privacy/jobs"])
def test_json_nested_100000_deep_is_a_400_problem(tenant, url: str) -> None:
    from rest_framework.test import APIClient

    from webapp.accounts.keys import issue_api_key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(tenant, 'all').plaintext}")
    body = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert "nested too deeply" in response.json()["detail"]
    assert not Analysis.objects.exists()


def test_json_nested_within_reason_still_parses(api) -> None:
    response = api.post("/api/v1/analyses", json.dumps({"text": "hello there"}), content_type="application/json")
    assert response.status_code == 202
